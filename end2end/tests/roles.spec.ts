import { expect, test } from '@playwright/test';
import { PASSWORD, acceptInvitation, invite, mailedLink, newPage, open, signUp, unique, watchConsole } from './helpers';

test('a role granted or revoked by an admin shows on the member’s next request; the header switches tenants', async ({ browser, page }, info) => {
  const errors = watchConsole(page);
  const first = await signUp(page, info, 'Rolesco');
  const bob = unique('Bob');
  await invite(page, info, bob.email, 'VIEWER');

  const bobPage = await newPage(browser, info);
  const bobErrors = watchConsole(bobPage);
  await acceptInvitation(bobPage, info, bob.email);
  await expect(bobPage.locator('main')).toContainText('Your roles: VIEWER');

  // The admin grants ANALYST from the people table.
  await open(page, info, '/');
  const row = page.locator('tr', { hasText: bob.email });
  await row.getByLabel(`Role to grant to ${bob.email}`).selectOption('ANALYST');
  await row.getByRole('button', { name: 'Grant' }).click();
  await expect(row.locator('td.roles')).toContainText('ANALYST');
  await open(bobPage, info, '/');
  await expect(bobPage.locator('main')).toContainText('Your roles: ANALYST, VIEWER');

  // … and revokes it again.
  await row.getByRole('button', { name: `Revoke ANALYST from ${bob.email}` }).click();
  await expect(row.locator('td.roles')).not.toContainText('ANALYST');
  await open(bobPage, info, '/');
  await expect(bobPage.locator('main')).toContainText('Your roles: VIEWER');
  await expect(bobPage.locator('main')).not.toContainText('ANALYST');

  // A second organisation invites bob too; he switches between them in the header.
  const otherAdmin = await newPage(browser, info);
  const second = await signUp(otherAdmin, info, 'Otherco');
  await invite(otherAdmin, info, bob.email, 'ADMIN');
  await open(bobPage, info, await mailedLink(bob.email, 1));
  await bobPage.getByLabel('Your current password').fill(PASSWORD);
  await bobPage.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(bobPage.getByRole('heading', { level: 1 })).toHaveText(second.name);
  await expect(bobPage.locator('main')).toContainText('Your roles: ADMIN');

  await open(bobPage, info, '/');
  await bobPage.getByLabel('Organisation', { exact: true }).selectOption({ label: first.name });
  await bobPage.getByRole('button', { name: 'Switch' }).click();
  await expect(bobPage.getByRole('heading', { level: 1 })).toHaveText(first.name);
  await expect(bobPage.locator('main')).toContainText('Your roles: VIEWER');

  expect(errors).toEqual([]);
  expect(bobErrors).toEqual([]);
});
