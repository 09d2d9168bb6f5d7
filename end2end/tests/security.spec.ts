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
