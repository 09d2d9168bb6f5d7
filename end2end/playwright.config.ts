import { defineConfig } from '@playwright/test';

// The server is started by .ci/e2e (a release build on a fresh SQLite file) before these run.
const baseURL = process.env.E2E_BASE_URL ?? 'http://127.0.0.1:3199';

export default defineConfig({
  testDir: './tests',
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium; Playwright never downloads a browser here.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        // Tenants' own hosts (TENANT_BASE_DOMAIN=tenantry.test in .ci/e2e) reach the test server.
        '--host-resolver-rules=MAP *.tenantry.test 127.0.0.1',
      ],
    },
  },
  projects: [
    { name: 'with-js', use: { javaScriptEnabled: true } },
    { name: 'without-js', use: { javaScriptEnabled: false } },
  ],
});
