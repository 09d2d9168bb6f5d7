import { expect, Page, TestInfo } from '@playwright/test';

export const PASSWORD = 'correct horse battery';

/** A name and e-mail no other test (or earlier run on the same database) uses. */
export function unique(prefix: string) {
  const id = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;
  return { name: `${prefix} ${id}`, email: `${prefix.toLowerCase()}-${id}@example.test` };
}

export function jsEnabled(info: TestInfo): boolean {
  return info.project.use.javaScriptEnabled !== false;
}

/** Fails the test on any console error or uncaught exception (e.g. a failed hydration). */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // A rejected form submission is an HTTP 4xx by design; Chromium logs each one.
    const expected = /Failed to load resource: the server responded with a status of 4\d\d/;
    if (msg.type() === 'error' && !expected.test(msg.text())) errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Opens a page and, when JavaScript is on, waits until it is hydrated. */
export async function open(page: Page, info: TestInfo, path: string) {
  await page.goto(path);
  if (jsEnabled(info)) {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  }
}
