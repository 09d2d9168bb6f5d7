import { expect, test } from '@playwright/test';
import { PASSWORD, mailedLink, open, signUp, unique, watchConsole } from './helpers';

test('an admin invites, the invitee accepts in the browser and lands signed in with the role', async ({ browser, page }, info) => {
  const errors = watchConsole(page);
  const org = await signUp(page, info, 'Invco');
  const invitee = unique('Jane');

  await page.getByRole('link', { name: 'Invitations' }).click();
  await expect(page).toHaveURL(/\/invitations$/);
  await open(page, info, '/invitations');
  await page.getByLabel('E-mail').fill(invitee.email);
  await page.getByLabel('Role').selectOption('ANALYST');
  await page.getByRole('button', { name: 'Send invitation' }).click();
  await expect(page.locator('table.invitations')).toContainText(invitee.email);

  const link = await mailedLink(invitee.email);
  expect(link).toContain('/invite?token=');

  // The invitee, in a browser of their own.
  const context = await browser.newContext({ javaScriptEnabled: info.project.use.javaScriptEnabled !== false });
  const theirs = await context.newPage();
  const theirErrors = watchConsole(theirs);
  await open(theirs, info, link);
  await expect(theirs.getByRole('heading', { level: 1 })).toHaveText(`Join ${org.name}`);
  await expect(theirs.locator('main')).toContainText(org.email);
  // Opening it again changes nothing.
  await open(theirs, info, link);
  await theirs.getByLabel('First name').fill('Jane');
  await theirs.getByLabel('Choose a password').fill('short');
  await theirs.getByRole('button', { name: 'Accept invitation' }).click();
  await expect(theirs.locator('#field-password-error')).toContainText('too short');
  await theirs.getByLabel('Choose a password').fill(PASSWORD);
  await theirs.getByRole('button', { name: 'Accept invitation' }).click();

  await expect(theirs).toHaveURL(/\/$/);
  await expect(theirs.getByRole('heading', { level: 1 })).toHaveText(org.name);
  await expect(theirs.locator('main')).toContainText('Your roles: ANALYST');

  // The link is spent.
  await open(theirs, info, link);
  await expect(theirs.getByRole('heading', { level: 1 })).toHaveText('Invitation already used');
  expect(errors).toEqual([]);
  expect(theirErrors).toEqual([]);
  await context.close();
});

test('unknown invitation links explain what to do', async ({ page }, info) => {
  await open(page, info, '/invite?token=not-a-real-token');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('This invitation link is not valid');
});
