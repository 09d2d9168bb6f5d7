import { expect, test } from '@playwright/test';
import { PASSWORD, acceptInvitation, createSuperuser, invite, newPage, open, signUp, unique, watchConsole } from './helpers';

test('an admin brands the organisation and sees it on the sign-in page of its own subdomain; a member sees the usage bars', async ({ browser, page, request }, info) => {
  const errors = watchConsole(page);
  const org = await signUp(page, info, 'Brandco');
  // The platform gives the organisation a plan and the branding feature.
  const root = unique('Root');
  createSuperuser(root.email);
  const login = await request.post('/api/auth/login/', { data: { email: root.email, password: PASSWORD } });
  const token = (await login.json()).access;
  const me = await request.get('/api/me/', { headers: { Authorization: `Bearer ${(await (await request.post('/api/auth/login/', { data: { email: org.email, password: PASSWORD } })).json()).access}` } });
  const tenantId = (await me.json()).tenant_id;
  const slug = (await (await request.get(`/api/tenants/${tenantId}/`, { headers: { Authorization: `Bearer ${token}` } })).json()).slug;
  expect((await request.post(`/api/tenants/${tenantId}/plan/`, { headers: { Authorization: `Bearer ${token}` }, data: { plan: 'basic' } })).status()).toBe(200);
  expect((await request.patch(`/api/tenants/${tenantId}/features/`, { headers: { Authorization: `Bearer ${token}` }, data: { custom_branding: true } })).status()).toBe(200);

  // The admin edits settings and branding.
  await open(page, info, '/settings');
  await page.getByLabel('Display name').fill('Brandco Worldwide');
  await page.getByLabel('Time zone').fill('Mars/Base');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.locator('#field-timezone-error')).toContainText('IANA');
  await page.getByLabel('Time zone').fill('Europe/Paris');
  await page.getByLabel('Company name').fill('Brandco Ltd');
  await page.getByLabel('Primary colour').fill('#0a7e3d');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await open(page, info, '/settings');
  await expect(page.getByLabel('Time zone')).toHaveValue('Europe/Paris');
  await expect(page.getByLabel('Company name')).toHaveValue('Brandco Ltd');

  // Its own subdomain's sign-in page carries the branding, and signing in there lands in it.
  const visitor = await newPage(browser, info);
  const visitorErrors = watchConsole(visitor);
  const port = new URL(process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3199').port;
  const host = `http://${slug}.tenantry.test:${port}`;
  await open(visitor, info, `${host}/login`);
  await expect(visitor.locator('.sign-in-brand')).toContainText('Brandco Ltd');
  await visitor.getByLabel('E-mail').fill(org.email);
  await visitor.getByLabel('Password').fill(PASSWORD);
  await visitor.getByRole('button', { name: 'Sign in' }).click();
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText(org.name);
  // A host under the base domain that no organisation has: a 404, never someone else's page.
  const unknown = await request.get('/login', { headers: { Host: `nobody-here.tenantry.test:${port}` } });
  expect(unknown.status()).toBe(404);
  expect(await unknown.text()).not.toContain('Brandco');

  // A member sees the plan and the usage bars.
  const bob = unique('Bob');
  await invite(page, info, bob.email, 'VIEWER');
  const bobPage = await newPage(browser, info);
  await acceptInvitation(bobPage, info, bob.email);
  await expect(bobPage.locator('main')).toContainText('Your roles: VIEWER');
  await open(bobPage, info, '/usage');
  await expect(bobPage.locator('.plan-name')).toHaveText('basic');
  const users = bobPage.locator('li.quota[data-resource="users"]');
  await expect(users.locator('meter')).toHaveAttribute('max', '10');
  await expect(users).toContainText('2 of 10 (20.0%)');
  expect(errors).toEqual([]);
  expect(visitorErrors).toEqual([]);
});
