import { expect, test } from '@playwright/test';
import { acceptInvitation, invite, newPage, open, signUp, unique, watchConsole } from './helpers';

test('an admin makes a custom role and grants it; the member gains exactly its permissions', async ({ browser, page }, info) => {
  const errors = watchConsole(page);
  await signUp(page, info, 'Permco');
  const bob = unique('Bob');
  await invite(page, info, bob.email, 'VIEWER');
  const bobPage = await newPage(browser, info);
  await acceptInvitation(bobPage, info, bob.email);
  await expect(bobPage.locator('main')).toContainText('Your roles: VIEWER');
  // Without a role that grants it, Bob cannot invite.
  await open(bobPage, info, '/invitations');
  await expect(bobPage.locator('main')).toContainText('Only administrators');

  // The admin creates "recruiter", allowed to invite.
  await open(page, info, '/roles');
  await page.getByLabel('Name').fill('recruiter');
  await page.getByLabel('Description').fill('Invites people');
  await page.getByLabel('invitations:read').check();
  await page.getByLabel('invitations:write').check();
  await page.getByRole('button', { name: 'Create role' }).click();
  await open(page, info, '/roles');
  const role = page.locator('tr[data-role="recruiter"]');
  await expect(role).toContainText('invitations:read, invitations:write');

  // … and grants it to Bob from the people page.
  await open(page, info, '/');
  const row = page.locator('tr', { hasText: bob.email });
  await row.getByLabel(`Role to grant to ${bob.email}`).selectOption('recruiter');
  await row.getByRole('button', { name: 'Grant' }).click();
  await expect(row.locator('td.roles')).toContainText('recruiter');

  await open(bobPage, info, '/');
  await expect(bobPage.locator('main')).toContainText('recruiter');
  await open(bobPage, info, '/invitations');
  await expect(bobPage.getByRole('heading', { name: 'Invite someone' })).toBeVisible();
  // Still nothing beyond it: no audit log.
  await open(bobPage, info, '/audit');
  await expect(bobPage.locator('main')).not.toContainText('role_assigned');

  // A name that is taken, or reserved, is refused beside the field.
  await open(page, info, '/roles');
  await page.getByLabel('Name').fill('ADMIN');
  await page.getByRole('button', { name: 'Create role' }).click();
  await expect(page.locator('#field-name-error')).toContainText('built-in');

  expect(errors).toEqual([]);
});

test('an admin makes an API key, a script uses it within its scopes, and revoking it stops it', async ({ page, request }, info) => {
  const errors = watchConsole(page);
  await signUp(page, info, 'Keyco');
  await open(page, info, '/api-keys');
  await page.getByLabel('Name', { exact: true }).fill('CI key');
  await page.getByLabel('members:read').check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.locator('#new-api-key');
  await expect(shown).toHaveValue(/^tnt_[A-Za-z0-9_-]{43}$/);
  const key = await shown.inputValue();
  if (info.project.use.javaScriptEnabled !== false) {
    await expect(page.getByRole('button', { name: 'Copy' })).toBeVisible();
  }
  // Shown once: a reload no longer has it.
  await open(page, info, '/api-keys');
  await expect(page.locator('#new-api-key')).toHaveCount(0);
  await expect(page.locator('table.keys')).toContainText('CI key');

  // A script (no browser session) with the key: what its scope allows, and nothing else.
  const users = await request.get('/api/users/', { headers: { 'X-API-Key': key } });
  expect(users.status()).toBe(200);
  const invited = await request.post('/api/users/invite/', { headers: { Authorization: `Bearer ${key}` }, data: { email: unique('x').email } });
  expect(invited.status()).toBe(403);

  await page.locator('table.keys tr', { hasText: 'CI key' }).getByRole('button', { name: 'Revoke the key CI key' }).click();
  await expect(page.locator('table.keys')).toContainText('revoked');
  const after = await request.get('/api/users/', { headers: { 'X-API-Key': key } });
  expect(after.status()).toBe(401);
  expect((await after.json()).detail).toContain('revoked');
  expect(errors).toEqual([]);
});
