import { expect, test } from '@playwright/test';
import { PASSWORD, open, unique, watchConsole } from './helpers';

test('sign up lands signed in, then log out and log in again', async ({ page }, info) => {
  const errors = watchConsole(page);
  const org = unique('Acme');

  await open(page, info, '/signup');
  await page.getByLabel('Organisation name').fill(org.name);
  await page.getByLabel('Your work e-mail').fill(org.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('First name (optional)').fill('Ada');
  await page.getByRole('button', { name: 'Create organisation' }).click();

  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);
  const row = page.locator('table.members tbody tr', { hasText: org.email });
  await expect(row).toContainText('ADMIN');
  await expect(row).toContainText('Ada');

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);

  if (info.project.use.javaScriptEnabled !== false) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }
  await page.getByLabel('E-mail').fill(org.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(org.name);

  expect(errors).toEqual([]);
});

test('sign-up errors appear beside their fields and keep what was typed', async ({ page }, info) => {
  const errors = watchConsole(page);
  const org = unique('Beta');
  await open(page, info, '/signup');
  await page.getByLabel('Organisation name').fill(org.name);
  await page.getByLabel('Your work e-mail').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create organisation' }).click();

  await expect(page.locator('#field-admin_email-error')).toHaveText('Enter a valid email address.');
  await expect(page.locator('#field-admin_password-error')).toContainText('too short');
  await expect(page.getByLabel('Organisation name')).toHaveValue(org.name);
  await expect(page.getByLabel('Your work e-mail')).toHaveAttribute('aria-invalid', 'true');
  expect(errors).toEqual([]);
});

test('a wrong password shows one message and does not sign in', async ({ page }, info) => {
  const errors = watchConsole(page);
  await open(page, info, '/login');
  await page.getByLabel('E-mail').fill('nobody@example.test');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'No active account' })).toBeVisible();
  await expect(page.getByLabel('E-mail')).toHaveValue('nobody@example.test');
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  expect(errors).toEqual([]);
});
