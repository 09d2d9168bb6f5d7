import { createHmac } from 'crypto';
import { expect, test } from '@playwright/test';
import { PASSWORD, open, signUp, watchConsole } from './helpers';

test('an admin sets a password rule on /security and changes their own password there, staying signed in', async ({ browser, page }, info) => {
  const errors = watchConsole(page);
  const org = await signUp(page, info, 'Secco');
  // A second browser signed in as the same person: the change signs it out.
  const context = await browser.newContext({ javaScriptEnabled: info.project.use.javaScriptEnabled !== false });
  const other = await context.newPage();
  await open(other, info, '/login');
  await other.getByLabel('E-mail').fill(org.email);
  await other.getByLabel('Password').fill(PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByRole('heading', { level: 1 })).toHaveText(org.name);

  await open(page, info, '/security');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Security');
  // A bad value is reported beside its field and nothing is saved.
  await page.getByLabel('Minimum password length').fill('4');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.locator('#field-min_length').locator('..').getByRole('alert')).toContainText('8 to 128');
  await page.getByLabel('Minimum password length').fill('14');
  await page.getByLabel('a number').check();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Security policy saved' })).toBeVisible();
  await expect(page.getByLabel('Minimum password length')).toHaveValue('14');

  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill('a long new secret 77');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#field-current_password-error')).toContainText('not correct');
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill('too short 1');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.locator('#field-new_password-error')).toContainText('at least 14 characters');
  await page.getByLabel('Current password').fill(PASSWORD);
  await page.getByLabel('New password').fill('a long new secret 77');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Password changed' })).toBeVisible();

  await open(page, info, '/');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);
  await open(other, info, '/');
  await expect(other).toHaveURL(/\/login/);
  expect(errors).toEqual([]);
  await context.close();
});

/** The TOTP code of a base32 secret for the 30-second step `offset` steps from now (RFC 6238). */
function totp(secret: string, offset = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const mac = createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

test('a member turns on TOTP from the QR page, signs in with a code, then with a recovery code', async ({ page }, info) => {
  const errors = watchConsole(page);
  const org = await signUp(page, info, 'Totpco');
  await open(page, info, '/security');
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await expect(page.getByRole('img', { name: /QR code/ })).toBeVisible();
  const secret = (await page.locator('.totp-secret').textContent())!.trim();
  await page.getByLabel('Code from the app').fill('000000' === totp(secret) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.locator('#field-code-error')).toContainText('not correct');
  await page.getByLabel('Code from the app').fill(totp(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Two-factor sign-in is on' })).toBeVisible();
  const codes = await page.locator('.recovery-codes code').allTextContents();
  expect(codes).toHaveLength(10);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.getByLabel('E-mail').fill(org.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Two-factor sign-in');
  // The code used to turn it on was spent; the next step's code is accepted.
  await page.getByLabel('Code', { exact: true }).fill(totp(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('E-mail').fill(org.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/login\/mfa$/);
  await page.getByText('Lost your device? Use a recovery code').click();
  await page.getByLabel('Recovery code').fill(codes[0]);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);
  expect(errors).toEqual([]);
});
