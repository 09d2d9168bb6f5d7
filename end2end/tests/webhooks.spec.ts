import crypto from 'crypto';
import http from 'http';
import { AddressInfo } from 'net';
import { expect, test } from '@playwright/test';
import { invite, open, signUp, unique, watchConsole } from './helpers';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver on a free local port that records every POST and answers 204. */
async function receiver(): Promise<{ url: string; received: Received[]; close: () => Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/tenantry`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The Standard Webhooks check: HMAC-SHA256 of "id.timestamp.body" under the decoded secret. */
function verified(secret: string, delivery: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${delivery.headers['webhook-id']}.${delivery.headers['webhook-timestamp']}.${delivery.body}`;
  const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
  return String(delivery.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

test('an admin adds a webhook, invites someone, sees the delivery, and the dashboard counts it', async ({ page }, info) => {
  const errors = watchConsole(page);
  const hooks = await receiver();
  try {
    await signUp(page, info, 'Hookco');
    await open(page, info, '/webhooks');
    await page.getByLabel('URL', { exact: true }).fill(hooks.url);
    await page.getByLabel('Description').fill('CRM');
    await page.getByLabel('member.invited').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = page.locator('#new-webhook-secret');
    await expect(secret).toHaveValue(/^whsec_[A-Za-z0-9+/=]{40,}$/);
    const signingSecret = await secret.inputValue();
    await open(page, info, '/webhooks');
    await expect(page.locator('#new-webhook-secret')).toHaveCount(0); // shown once
    const row = page.locator('tr', { hasText: hooks.url });
    await expect(row).toContainText('member.invited');
    await expect(row.locator('.status')).toHaveText('active');

    // A bad URL is refused beside its field.
    await page.getByLabel('URL', { exact: true }).fill('ftp://example.test/x');
    await page.getByLabel('member.joined').check();
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await expect(page.locator('#field-url-error')).toContainText('https');

    const bob = unique('Bob');
    await invite(page, info, bob.email, 'VIEWER');
    await expect.poll(() => hooks.received.length, { timeout: 15_000 }).toBe(1);
    const delivery = hooks.received[0];
    expect(verified(signingSecret, delivery)).toBe(true);
    const event = JSON.parse(delivery.body);
    expect(event.type).toBe('member.invited');
    expect(event.data.email).toBe(bob.email);
    expect(event.id).toBe(delivery.headers['webhook-id']);

    // The deliveries of the endpoint, with their status.
    await open(page, info, '/webhooks');
    await page.locator('tr', { hasText: hooks.url }).getByRole('link', { name: 'Deliveries' }).click();
    const deliveries = page.locator('table.deliveries');
    await expect(deliveries).toContainText('member.invited');
    await expect(deliveries.locator('.status')).toHaveText('succeeded');
    await expect(deliveries).toContainText('HTTP 204');

    // A test event goes out, and retry sends the delivery again.
    await open(page, info, '/webhooks');
    await page.locator('tr', { hasText: hooks.url }).getByRole('button', { name: /^Send a test event/ }).click();
    await expect.poll(() => hooks.received.length, { timeout: 15_000 }).toBe(2);
    expect(JSON.parse(hooks.received[1].body).type).toBe('ping');

    // The dashboard counts the invitation and draws its sparklines.
    await open(page, info, '/dashboard');
    const sent = page.locator('li.metric-card[data-metric="invitations_sent"]');
    await expect(sent.locator('.metric-value')).toHaveText('1');
    await expect(sent.locator('svg.sparkline polyline')).toHaveCount(1);
    await page.getByLabel('Period').selectOption('7d');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect(page).toHaveURL(/period=7d/);
    await expect(page.locator('li.metric-card')).toHaveCount(8);

    // Switched off, it gets nothing more.
    await open(page, info, '/webhooks');
    await page.locator('tr', { hasText: hooks.url }).getByRole('button', { name: /^Switch off/ }).click();
    await expect(page.locator('tr', { hasText: hooks.url }).locator('.status')).toHaveText('off');
    await invite(page, info, unique('Carol').email, 'VIEWER');
    await page.waitForTimeout(2_000);
    expect(hooks.received.length).toBe(2);
    expect(errors).toEqual([]);
  } finally {
    await hooks.close();
  }
});
