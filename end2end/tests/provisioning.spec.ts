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
  // With JavaScript the row stays as it was (the disclosure still open); without, the page reloaded.
  const confirm = again.getByLabel(`Type “${org.name}” to delete it`);
  if (!(await confirm.isVisible())) await again.getByText('Delete…').click();
  await confirm.fill(org.name);
  await again.getByRole('button', { name: `Delete ${org.name}` }).click();
  const deleted = page.locator('tr', { hasText: subdomain });
  await expect(deleted).toContainText('deleted');

  await deleted.getByRole('button', { name: `Restore ${org.name}` }).click();
  await expect(page.locator('tr', { hasText: subdomain })).toContainText('active');
  expect(errors).toEqual([]);
});

test('a superuser uploads a tenants CSV, previews the dry run, creates them and sees each row', async ({ page }, info) => {
  const errors = watchConsole(page);
  const root = unique('Root');
  createSuperuser(root.email);
  await open(page, info, '/login');
  await page.getByLabel('E-mail').fill(root.email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('link', { name: 'Platform' })).toBeVisible();

  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const csv = `name,subdomain,plan,owner_email\nBulk One ${id},bulk-one-${id},basic,one-${id}@example.test\nBulk Two ${id},bulk-two-${id},,\nBroken ${id},-bad-,,not-an-email\nCopy ${id},bulk-one-${id},,\n`;
  await open(page, info, '/platform/bulk');
  await page.getByLabel('CSV file').setInputFiles({ name: 'tenants.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByRole('button', { name: 'Check the file' }).click();
  await expect(page.getByRole('heading', { level: 2 })).toHaveText('Check before creating');
  const rows = page.locator('table.bulk-rows tbody tr');
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toContainText('would create');
  await expect(rows.nth(2)).toContainText('failed');
  await expect(rows.nth(2)).toContainText('owner_email');
  await expect(rows.nth(3)).toContainText('earlier row');

  await page.getByRole('button', { name: 'Create these tenants' }).click();
  await expect(page.getByRole('heading', { level: 2 })).toHaveText('Finished', { timeout: 20_000 });
  await expect(page.locator('table.bulk-rows tbody tr').nth(0)).toContainText('created');
  await expect(page.locator('ul.counts')).toContainText('2 created');
  expect(await mailedLink(`one-${id}@example.test`)).toContain('/invite?token=');
  await open(page, info, '/platform');
  await expect(page.locator('tr', { hasText: `bulk-two-${id}` })).toContainText('active');
  expect(errors).toEqual([]);
});
