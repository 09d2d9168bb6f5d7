import { expect, test } from '@playwright/test';
import { PASSWORD, jsEnabled, open, signUp, watchConsole } from './helpers';

// Passkeys are bound to a domain and browsers refuse them on an IP address: these tests use the
// server as `localhost` (its passkey domain when FRONTEND_BASE_URL is a loopback address).
const base = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3199';
const local = base.replace('127.0.0.1', 'localhost');

test('a passkey is added on /security, signs in alone, answers the second step, and is removed', async ({ browser }, info) => {
  test.skip(!jsEnabled(info), 'passkeys need JavaScript (the page without it is checked below)');
  const context = await browser.newContext({ baseURL: local });
  const page = await context.newPage();
  const errors = watchConsole(page);
  // Chromium's virtual authenticator: a platform passkey provider that verifies the user.
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });

  const org = await signUp(page, info, 'Keyco');
  await open(page, info, '/security');
  await expect(page.getByText('You have no passkeys yet.')).toBeVisible();
  await page.getByLabel('Name', { exact: true }).fill('Test laptop');
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Passkey added' })).toBeVisible();
  await expect(page.locator('li.passkey')).toContainText('Test laptop');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);

  // Signed out, the passkey alone signs in: no e-mail, no password.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await open(page, info, '/login');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);

  // With the password, the passkey is the second step.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('E-mail').fill(org.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await expect(page.getByLabel('Code', { exact: true })).toHaveCount(0);
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);

  // Removing it takes the password.
  await open(page, info, '/security');
  await expect(page.locator('li.passkey')).toContainText('last used');
  await page.getByText('Remove', { exact: true }).click();
  await page.getByLabel('Your password').last().fill('not my password');
  await page.getByRole('button', { name: /Remove “Test laptop”/ }).click();
  await expect(page.locator('li.passkey').getByRole('alert').filter({ hasText: 'not correct' })).toBeVisible();
  await page.getByLabel('Your password').last().fill(PASSWORD);
  await page.getByRole('button', { name: /Remove “Test laptop”/ }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Passkey removed' })).toBeVisible();
  await expect(page.getByText('You have no passkeys yet.')).toBeVisible();

  // A passkey no longer registered here does not sign in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await open(page, info, '/login');
  await page.getByRole('button', { name: 'Use a passkey' }).click();
  await expect(page.locator('[data-passkey-error]')).toContainText('not registered');
  expect(errors).toEqual([]);
  await context.close();
});

test('without JavaScript the passkey buttons say they need it and the rest of the page works', async ({ page }, info) => {
  test.skip(jsEnabled(info), 'checked with JavaScript off');
  await open(page, info, '/login');
  await expect(page.getByText('Passkeys need JavaScript')).toBeVisible();
  await signUp(page, info, 'Nokeyco');
  await open(page, info, '/security');
  await expect(page.getByText('Passkeys need JavaScript')).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Passkeys' })).toBeVisible();
});
