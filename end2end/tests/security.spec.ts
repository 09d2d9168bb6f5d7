import { createHmac } from 'crypto';
import { expect, test } from '@playwright/test';
import { PASSWORD, acceptInvitation, invite, newPage, open, signUp, unique, watchConsole } from './helpers';

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

test('a network list refuses a client outside it, and require_2fa sends a member without a factor to set one up', async ({ browser, page }, info) => {
  const errors = watchConsole(page);
  await signUp(page, info, 'Netco');
  const js = info.project.use.javaScriptEnabled !== false;
  // A client elsewhere: .ci/e2e trusts 127.0.0.1 as a proxy, so this browser's requests come
  // from the address it forwards.
  const away = await (await browser.newContext({ javaScriptEnabled: js, extraHTTPHeaders: { 'X-Forwarded-For': '203.0.113.9' } })).newPage();
  const bob = unique('Bob');
  const carol = unique('Carol');
  await invite(page, info, bob.email, 'VIEWER');
  await acceptInvitation(away, info, bob.email);
  await expect(away.locator('main')).toContainText('Your roles: VIEWER');
  const near = await newPage(browser, info);
  await invite(page, info, carol.email, 'VIEWER');
  await acceptInvitation(near, info, carol.email);
  await expect(near.locator('main')).toContainText('Your roles: VIEWER');

  // The admin allows only the local network: Bob's next page is refused, clearly.
  await open(page, info, '/security');
  await page.getByLabel('Allowed networks').fill('127.0.0.0/8');
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Security policy saved' })).toBeVisible();
  await away.goto('/');
  await expect(away.locator('main')).toContainText('not allowed from this network');
  await expect(away.locator('main')).not.toContainText('Your roles');

  // Two-factor sign-in required: Carol (no factor) is sent to /security from any page.
  await open(page, info, '/security');
  await page.getByLabel(/Require two-factor sign-in/).check();
  await page.getByRole('button', { name: 'Save policy' }).click();
  await expect(page).toHaveURL(/\/security/);
  for (const path of ['/', '/roles', '/usage']) {
    await near.goto(path);
    await expect(near).toHaveURL(/\/security\?enrol=1$/);
  }
  await expect(near.getByRole('alert').filter({ hasText: 'requires two-factor sign-in' })).toBeVisible();
  await near.getByRole('button', { name: 'Set up an authenticator app' }).click();
  const secret = (await near.locator('.totp-secret').textContent())!.trim();
  await near.getByLabel('Code from the app').fill(totp(secret));
  await near.getByRole('button', { name: 'Turn on' }).click();
  await expect(near.getByRole('status').filter({ hasText: 'Two-factor sign-in is on' })).toBeVisible();
  await open(near, info, '/');
  await expect(near.locator('main')).toContainText('Your roles: VIEWER');
  expect(errors).toEqual([]);
});
