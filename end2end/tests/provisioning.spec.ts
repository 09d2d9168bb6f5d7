import { expect, test } from '@playwright/test';
import { PASSWORD, createSuperuser, mailedLink, open, unique, watchConsole } from './helpers';

test('a superuser creates a tenant from the platform page, deletes it with its name typed back, and restores it', async ({ page }, info) => {
  const errors = watchConsole(page);
  const root = unique('Root');
  createSuperuser(root.email);
  await open(page, info, '/login');
  await page.getByLabel('E-mail').fill(root.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('link', { name: 'Platform' })).toBeVisible();

  await open(page, info, '/platform');
  await expect(page.getByRole('heading', { level: 2, name: 'Create a tenant' })).toBeVisible();
  // A bad field is reported beside it, and what was typed stays.
  const org = unique('Provco');
  const owner = unique('Owner');
  const subdomain = `provco-${Date.now().toString(36)}`;
  await page.getByLabel('Organisation name').fill(org.name);
  await page.getByLabel('Subdomain (optional)').fill('-bad-');
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page.locator('#field-subdomain-error')).toContainText('subdomain');
  await expect(page.getByLabel('Organisation name')).toHaveValue(org.name);

  await page.getByLabel('Subdomain (optional)').fill(subdomain);
  await page.getByLabel('Plan').selectOption('basic');
  await page.getByLabel("Owner's e-mail (invited)").fill(owner.email);
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Created ${subdomain}` })).toContainText('invitation is queued');
  const row = page.locator('tr', { hasText: subdomain });
  await expect(row).toContainText('active');
  expect(await mailedLink(owner.email)).toContain('/invite?token=');

  // The name must be typed back exactly.
  await row.getByText('Delete…').click();
  await row.getByLabel(`Type “${org.name}” to delete it`).fill(org.name.toUpperCase());
  await row.getByRole('button', { name: `Delete ${org.name}` }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'exact name' })).toBeVisible();
  const again = page.locator('tr', { hasText: subdomain });
  await expect(again).toContainText('active');
  await again.getByText('Delete…').click();
  await again.getByLabel(`Type “${org.name}” to delete it`).fill(org.name);
  await again.getByRole('button', { name: `Delete ${org.name}` }).click();
  const deleted = page.locator('tr', { hasText: subdomain });
  await expect(deleted).toContainText('deleted');

  await deleted.getByRole('button', { name: `Restore ${org.name}` }).click();
  await expect(page.locator('tr', { hasText: subdomain })).toContainText('active');
  expect(errors).toEqual([]);
});
