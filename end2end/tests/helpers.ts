import { execFileSync } from 'child_process';
import path from 'path';
import { Browser, expect, Page, TestInfo } from '@playwright/test';

const ROOT = path.resolve(__dirname, '../..');

export const PASSWORD = 'correct horse battery';

/** A name and e-mail no other test (or earlier run on the same database) uses. */
export function unique(prefix: string) {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  return { name: `${prefix} ${id}`, email: `${prefix.toLowerCase()}-${id}@example.test` };
}

export function jsEnabled(info: TestInfo): boolean {
  return info.project.use.javaScriptEnabled !== false;
}

/** Fails the test on any console error or uncaught exception (e.g. a failed hydration). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // A rejected form submission is an HTTP 4xx by design; Chromium logs each one.
    const expected = /Failed to load resource: the server responded with a status of 4\d\d/;
    if (msg.type() === 'error' && !expected.test(msg.text())) errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Opens a page and, when JavaScript is on, waits until it is hydrated. */
export async function open(page: Page, info: TestInfo, path: string) {
  await page.goto(path);
  if (jsEnabled(info)) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }
}

/** Waits for the log mailer's line for `to` and returns its link (the newest one). */
export async function mailedLink(to: string, after = 0): Promise<string> {
  const fs = await import('fs');
  const log = process.env.E2E_SERVER_LOG;
  if (!log) throw new Error('E2E_SERVER_LOG is not set: run the tests through .ci/e2e');
  const escaped = to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`MAIL to=${escaped} .*link=(\\S+)`, 'g');
  for (let i = 0; i < 100; i++) {
    const matches = [...fs.readFileSync(log, 'utf8').matchAll(pattern)];
    if (matches.length > after) return matches[matches.length - 1][1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} in ${log}`);
}

/** Signs up a new organisation in the browser and returns its admin's e-mail and name. */
export async function signUp(page: Page, info: TestInfo, prefix: string) {
  const org = unique(prefix);
  await open(page, info, '/signup');
  await page.getByLabel('Organisation name').fill(org.name);
  await page.getByLabel('Your work e-mail').fill(org.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);
  return org;
}

/** A page in a browser context of its own (its own cookies), with JavaScript as the project says. */
export async function newPage(browser: Browser, info: TestInfo): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: jsEnabled(info) });
  return context.newPage();
}

/** The invitee of `email` opens the mailed link in `page` and accepts it as a new account. */
export async function acceptInvitation(page: Page, info: TestInfo, email: string) {
  await open(page, info, await mailedLink(email));
  await page.getByLabel('Choose a password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Accept invitation' }).click();
}

/** An admin invites `email` with `role` from the invitations page. */
export async function invite(page: Page, info: TestInfo, email: string, role: string) {
  await open(page, info, '/invitations');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Role').selectOption(role);
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.locator('table.invitations')).toContainText(email);
}

/** `tenantry-server create-superuser` against the SQLite file .ci/e2e started the server on. */
export function createSuperuser(email: string) {
  const log = process.env.E2E_SERVER_LOG;
  if (!log) throw new Error('E2E_SERVER_LOG is not set: run the tests through .ci/e2e');
  const work = path.dirname(log);
  const database = process.env.E2E_DATABASE_URL ?? `sqlite://${path.join(work, 'e2e.sqlite')}?mode=rwc`;
  const server = process.env.E2E_SERVER_BIN ?? path.join(ROOT, 'target/release/tenantry-server');
  execFileSync(server, ['create-superuser', '--email', email], {
    cwd: work, // the server's own folder: the same .tenantry-secret, no stray .env
    env: { ...process.env, DATABASE_URL: database, EMAIL_PROVIDER: 'log', SUPERUSER_PASSWORD: PASSWORD, RUST_LOG: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 30_000,
  });
}
