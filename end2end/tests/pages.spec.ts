// Every page of the app, as each kind of visitor sees it, at a phone, a laptop and a wide screen
// (and, through the two projects of playwright.config.ts, with JavaScript on and off). One check
// fails on:
//   - a form control, table or button sticking out of its card, or out of the viewport (the page
//     must not scroll sideways at any width; only a scroll container made for it may),
//   - any axe-core violation of impact serious or critical,
//   - a console error or uncaught exception (JavaScript on).
// The pages come from the router: every `path!("…")` in app/src/lib.rs must have an entry in PAGES
// below, so a new page fails here until someone says who sees it and how to reach it.
// Screenshots of every visit land in target/e2e-screenshots/<project>/<visitor>/.
import fs from 'fs';
import path from 'path';
import { Browser, BrowserContext, expect, Page, test, TestInfo } from '@playwright/test';
import { PASSWORD, createSuperuser, invite, jsEnabled, mailedLink, open, signUp, unique, watchConsole } from './helpers';
import { axeProblems, layoutProblems } from './page-checks';

const ROOT = path.resolve(__dirname, '../..');
const WIDTHS = [
  { width: 390, height: 844 },
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
];
const SCREENSHOTS = path.join(ROOT, 'target', 'e2e-screenshots');

type Visitor = 'signed-out' | 'admin' | 'viewer' | 'superuser';
const VISITORS: Visitor[] = ['signed-out', 'admin', 'viewer', 'superuser'];

/** What the set-up made: the links and names the visits need. */
interface Fixture {
  adminTenant: string;
  /** A pending invitation for someone without an account (new-account form). */
  inviteNew: string;
  /** A pending invitation for someone who already has an account (password only). */
  inviteExisting: string;
  /** An invitation that was accepted. */
  inviteUsed: string;
  /** A password-reset link that was not used yet. */
  reset: string;
}

interface Visit {
  /** File-name-safe label for the screenshot and the report. */
  label: string;
  url: string | ((f: Fixture) => string);
  /** The page's <h1>, to be sure the visit shows the state it means to check. */
  heading?: string | RegExp | ((f: Fixture) => string | RegExp);
  /** The page only redirects this visitor (e.g. to /login): checked once, not measured. */
  redirectsTo?: string;
}

const toLogin = (label: string, url: string): Visit => ({ label, url, redirectsTo: '/login' });

/**
 * Per route of the router: which visitors see it, and how to reach each state of it. `*` is the
 * router's fallback (not found). A route a visitor never sees is simply not listed for them.
 */
const PAGES: Record<string, Partial<Record<Visitor, Visit[]>>> = {
  '/': {
    'signed-out': [toLogin('home', '/')],
    admin: [{ label: 'home', url: '/', heading: (f) => f.adminTenant }],
    viewer: [{ label: 'home', url: '/' }],
    superuser: [{ label: 'home', url: '/', heading: 'Platform' }],
  },
  '/signup': { 'signed-out': [{ label: 'signup', url: '/signup', heading: 'Create your organisation' }] },
  '/login': { 'signed-out': [{ label: 'login', url: '/login', heading: 'Sign in' }] },
  '/login/mfa': { 'signed-out': [{ label: 'login-mfa', url: '/login/mfa', heading: 'Two-factor sign-in' }] },
  '/logout': {
    'signed-out': [{ label: 'logout', url: '/logout', heading: 'Sign out' }],
    admin: [{ label: 'logout', url: '/logout', heading: 'Sign out' }],
    viewer: [{ label: 'logout', url: '/logout', heading: 'Sign out' }],
    superuser: [{ label: 'logout', url: '/logout', heading: 'Sign out' }],
  },
  '/invite': {
    'signed-out': [
      { label: 'invite-no-token', url: '/invite', heading: 'This invitation link is not valid' },
      { label: 'invite-new-account', url: (f) => f.inviteNew, heading: /^Join / },
      { label: 'invite-existing-account', url: (f) => f.inviteExisting, heading: /^Join / },
      { label: 'invite-used', url: (f) => f.inviteUsed, heading: 'Invitation already used' },
    ],
  },
  '/password-reset': {
    'signed-out': [
      { label: 'reset-request', url: '/password-reset', heading: 'Reset your password' },
      { label: 'reset-sent', url: '/password-reset?sent=1', heading: 'Check your e-mail' },
      { label: 'reset-choose', url: (f) => f.reset, heading: 'Choose a new password' },
    ],
  },
  '/invitations': {
    'signed-out': [toLogin('invitations', '/invitations')],
    admin: [{ label: 'invitations', url: '/invitations', heading: 'Invitations' }],
    viewer: [{ label: 'invitations', url: '/invitations', heading: 'Invitations' }],
  },
  '/audit': {
    'signed-out': [toLogin('audit', '/audit')],
    admin: [
      { label: 'audit', url: '/audit', heading: 'Audit log' },
      { label: 'audit-bad-filter', url: '/audit?since=yesterday', heading: 'Audit log' },
    ],
    viewer: [{ label: 'audit', url: '/audit', heading: 'Audit log' }],
  },
  '/platform': {
    'signed-out': [toLogin('platform', '/platform')],
    admin: [{ label: 'platform', url: '/platform', heading: 'Platform' }],
    viewer: [{ label: 'platform', url: '/platform', heading: 'Platform' }],
    superuser: [{ label: 'platform', url: '/platform', heading: /^Tenants/ }],
  },
  '/platform/bulk': {
    'signed-out': [toLogin('bulk tenants', '/platform/bulk')],
    admin: [{ label: 'bulk tenants', url: '/platform/bulk', heading: 'Tenants in bulk' }],
    viewer: [{ label: 'bulk tenants', url: '/platform/bulk', heading: 'Tenants in bulk' }],
    superuser: [{ label: 'bulk tenants', url: '/platform/bulk', heading: 'Tenants in bulk' }],
  },
  '/roles': {
    'signed-out': [toLogin('roles', '/roles')],
    admin: [{ label: 'roles', url: '/roles', heading: 'Roles' }],
    viewer: [{ label: 'roles', url: '/roles', heading: 'Roles' }],
  },
  '/api-keys': {
    'signed-out': [toLogin('api-keys', '/api-keys')],
    admin: [{ label: 'api-keys', url: '/api-keys', heading: 'API keys' }],
    viewer: [{ label: 'api-keys', url: '/api-keys', heading: 'API keys' }],
  },
  '/import': {
    'signed-out': [toLogin('import', '/import')],
    admin: [
      { label: 'import', url: '/import', heading: 'Import members' },
      { label: 'import-upload-error', url: '/import?error=users%3A%20Give%20at%20least%20one%20row.', heading: 'Import members' },
    ],
    viewer: [{ label: 'import', url: '/import', heading: 'Import members' }],
  },
  '/settings': {
    'signed-out': [toLogin('settings', '/settings')],
    admin: [{ label: 'settings', url: '/settings', heading: 'Settings' }],
    viewer: [{ label: 'settings', url: '/settings', heading: 'Settings' }],
  },
  '/security': {
    'signed-out': [toLogin('security', '/security')],
    admin: [{ label: 'security', url: '/security', heading: 'Security' }],
    viewer: [{ label: 'security', url: '/security', heading: 'Security' }],
  },
  '/usage': {
    'signed-out': [toLogin('usage', '/usage')],
    admin: [{ label: 'usage', url: '/usage', heading: 'Plan and usage' }],
    viewer: [{ label: 'usage', url: '/usage', heading: 'Plan and usage' }],
  },
  '/webhooks': {
    'signed-out': [toLogin('webhooks', '/webhooks')],
    admin: [
      { label: 'webhooks', url: '/webhooks', heading: 'Webhooks' },
      { label: 'webhooks-unknown-endpoint', url: '/webhooks?endpoint=00000000-0000-0000-0000-000000000000' },
    ],
    viewer: [{ label: 'webhooks', url: '/webhooks', heading: 'Webhooks' }],
  },
  '/dashboard': {
    'signed-out': [toLogin('dashboard', '/dashboard')],
    admin: [
      { label: 'dashboard', url: '/dashboard', heading: 'Dashboard' },
      { label: 'dashboard-90d', url: '/dashboard?period=90d', heading: 'Dashboard' },
      { label: 'dashboard-bad-period', url: '/dashboard?period=1y', heading: 'Dashboard' },
    ],
    viewer: [{ label: 'dashboard', url: '/dashboard', heading: 'Dashboard' }],
  },
  '/platform/analytics': {
    'signed-out': [toLogin('analytics', '/platform/analytics')],
    admin: [{ label: 'analytics', url: '/platform/analytics', heading: 'Platform analytics' }],
    superuser: [
      { label: 'analytics', url: '/platform/analytics', heading: 'Platform analytics' },
      { label: 'analytics-active-users-7d', url: '/platform/analytics?metric=active_users&period=7d', heading: 'Platform analytics' },
    ],
  },
  '*': { 'signed-out': [{ label: 'not-found', url: '/no-such-page', heading: 'Page not found' }] },
};

/** Every `path!("…")` inside `<Routes>` of app/src/lib.rs. */
function routerPaths(): string[] {
  const source = fs.readFileSync(path.join(ROOT, 'app/src/lib.rs'), 'utf8');
  const routes = source.match(/<Routes[\s>][\s\S]*?<\/Routes>/);
  if (!routes) throw new Error('no <Routes> … </Routes> in app/src/lib.rs: update routerPaths() in pages.spec.ts');
  const paths = [...routes[0].matchAll(/path!\(\s*"([^"]*)"\s*\)/g)].map((m) => m[1]);
  if (paths.length === 0) throw new Error('no path!("…") in <Routes> of app/src/lib.rs: update routerPaths() in pages.spec.ts');
  return paths;
}

test('every page, for every visitor, at every width: nothing sticks out, no serious axe violation, no console error', async ({ browser }, info) => {
  test.setTimeout(300_000);

  // 1. The table covers the router, and only the router.
  const routes = routerPaths();
  const missing = routes.filter((r) => !(r in PAGES));
  const stale = Object.keys(PAGES).filter((r) => r !== '*' && !routes.includes(r));
  expect(missing, `routes in app/src/lib.rs without an entry in PAGES of ${path.basename(__filename)}: say who sees them and how to reach them`).toEqual([]);
  expect(stale, `entries in PAGES of ${path.basename(__filename)} for routes that app/src/lib.rs no longer has`).toEqual([]);

  // 2. One browser context per visitor, signed in once.
  const contexts: Record<Visitor, BrowserContext> = {} as Record<Visitor, BrowserContext>;
  const pages: Record<Visitor, Page> = {} as Record<Visitor, Page>;
  for (const visitor of VISITORS) {
    contexts[visitor] = await browser.newContext({ javaScriptEnabled: jsEnabled(info) });
    pages[visitor] = await contexts[visitor].newPage();
  }
  const fixture = await setUp(browser, info, pages);

  // 3. Every visit at every width.
  const shots = path.join(SCREENSHOTS, info.project.name);
  fs.rmSync(shots, { recursive: true, force: true });
  const problems: string[] = [];
  let measured = 0;
  for (const visitor of VISITORS) {
    const page = pages[visitor];
    const errors = watchConsole(page);
    for (const [route, byVisitor] of Object.entries(PAGES)) {
      for (const visit of byVisitor[visitor] ?? []) {
        const url = typeof visit.url === 'function' ? visit.url(fixture) : visit.url;
        const where = `${visitor} ${visit.label} (${route}: ${url})`;
        if (visit.redirectsTo) {
          await page.goto(url);
          const target = visit.redirectsTo;
          await page.waitForURL((u) => u.pathname === target, { timeout: 5_000 }).catch(() => {
            problems.push(`${where}: expected a redirect to ${target}, got ${page.url()}`);
          });
          continue;
        }
        for (const size of WIDTHS) {
          const at = `${where} at ${size.width}px`;
          const before = errors.length;
          await page.setViewportSize(size);
          await open(page, info, url);
          const heading = typeof visit.heading === 'function' ? visit.heading(fixture) : visit.heading;
          if (heading !== undefined) {
            const h1 = (await page.locator('h1').first().textContent({ timeout: 5_000 }).catch(() => null))?.trim() ?? '(no h1)';
            const ok = typeof heading === 'string' ? h1 === heading : heading.test(h1);
            if (!ok) problems.push(`${at}: expected the heading ${heading}, got "${h1}" (the set-up no longer reaches this state?)`);
          }
          for (const p of await layoutProblems(page)) problems.push(`${at}: ${p}`);
          for (const p of await axeProblems(page, jsEnabled(info))) problems.push(`${at}: axe ${p}`);
          await page.screenshot({ path: path.join(shots, visitor, `${visit.label}-${size.width}.png`), fullPage: true });
          for (const e of errors.slice(before)) problems.push(`${at}: console: ${e}`);
          measured++;
        }
      }
    }
  }
  for (const context of Object.values(contexts)) await context.close();
  info.annotations.push({ type: 'pages', description: `${measured} page views measured; screenshots in ${shots}` });
  expect(problems, `${problems.length} problem(s) in ${measured} page views; screenshots in ${shots}`).toEqual([]);
});

/** Makes an organisation with an admin, a viewer in two organisations, pending invitations, a reset link and a superuser. */
async function setUp(browser: Browser, info: TestInfo, pages: Record<Visitor, Page>): Promise<Fixture> {
  const admin = pages.admin;
  const org = await signUp(admin, info, 'Pagesco');
  const viewer = unique('Vera');
  const newcomer = unique('Nina');
  await invite(admin, info, viewer.email, 'VIEWER');
  await invite(admin, info, newcomer.email, 'ANALYST');
  const inviteUsed = await mailedLink(viewer.email);
  const inviteNew = await mailedLink(newcomer.email);

  // The viewer accepts in their own browser and is signed in there.
  const v = pages.viewer;
  await open(v, info, inviteUsed);
  await v.getByLabel('First name').fill('Vera');
  await v.getByLabel('Last name').fill('Viewer');
  await v.getByLabel('Choose a password').fill(PASSWORD);
  await v.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(v.locator('main')).toContainText('Your roles: VIEWER');

  // A second organisation invites the viewer too, who joins it: the header then shows the
  // tenant switcher.
  const otherContext = await browser.newContext({ javaScriptEnabled: jsEnabled(info) });
  const other = await otherContext.newPage();
  await signUp(other, info, 'Otherco');
  await invite(other, info, viewer.email, 'VIEWER');
  await otherContext.close();
  await open(v, info, await mailedLink(viewer.email, 1));
  await v.getByLabel('Your current password').fill(PASSWORD);
  await v.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(v.locator('main')).toContainText('Your roles: VIEWER');
  await expect(v.getByLabel('Organisation', { exact: true })).toBeVisible();

  // A reset link for the admin, asked for by the signed-out visitor.
  const out = pages['signed-out'];
  await open(out, info, '/password-reset');
  await out.getByLabel('E-mail').fill(org.email);
  await out.getByRole('button', { name: 'Send reset link' }).click();
  await expect(out.getByRole('heading', { level: 1 })).toHaveText('Check your e-mail');
  const reset = await mailedLink(org.email);

  // A platform superuser, made with the server's CLI on the same database, signs in.
  const superuser = unique('Root');
  createSuperuser(superuser.email);
  const s = pages.superuser;
  await open(s, info, '/login');
  await s.getByLabel('E-mail').fill(superuser.email);
  await s.getByLabel('Password').fill(PASSWORD);
  await s.getByRole('button', { name: 'Sign in' }).click();
  await expect(s.getByRole('link', { name: 'Platform' })).toBeVisible();

  // A pending invitation for someone who already has an account (the superuser's).
  await invite(admin, info, superuser.email, 'VIEWER');
  const inviteExisting = await mailedLink(superuser.email);

  return { adminTenant: org.name, inviteNew, inviteExisting, inviteUsed, reset };
}

