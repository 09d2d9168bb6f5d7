import { expect, test } from '@playwright/test';
import { PASSWORD, mailedLink, open, signUp, watchConsole } from './helpers';

test('a forgotten password is reset from request to signing in with the new one', async ({ browser, page }, info) => {
  const errors = watchConsole(page);
  const org = await signUp(page, info, 'Resetco');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);

  const context = await browser.newContext({ javaScriptEnabled: info.project.use.javaScriptEnabled !== false });
  const other = await context.newPage();
  await open(other, info, '/login');
  await other.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(other).toHaveURL(/\/password-reset$/);
  await open(other, info, '/password-reset');
  await other.getByLabel('E-mail').fill(org.email);
  await other.getByRole('button', { name: 'Send reset link' }).click();
  await expect(other.getByRole('heading', { level: 1 })).toHaveText('Check your e-mail');

  const link = await mailedLink(org.email);
  expect(link).toContain('/password-reset?token=');
  await open(other, info, link);
  await expect(other.getByRole('heading', { level: 1 })).toHaveText('Choose a new password');
  await other.getByLabel('New password').fill('password');
  await other.getByRole('button', { name: 'Set new password' }).click();
  await expect(other.locator('#field-password-error')).toContainText('too common');
  const fresh = 'a brand new secret 42';
  await other.getByLabel('New password').fill(fresh);
  await other.getByRole('button', { name: 'Set new password' }).click();
  await expect(other).toHaveURL(/\/login\?reset=1$/);
  await expect(other.getByRole('status')).toContainText('Your password was changed');

  await other.getByLabel('E-mail').fill(org.email);
  await other.getByLabel('Password').fill(PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByRole('alert').filter({ hasText: 'No active account' })).toBeVisible();
  await other.getByLabel('Password').fill(fresh);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByRole('heading', { level: 1 })).toHaveText(org.name);

  await open(other, info, link);
  await expect(other.getByRole('heading', { level: 1 })).toHaveText('This reset link no longer works');
  expect(errors).toEqual([]);
  await context.close();
});
