// Playwright drives the real kernel binary and the desktop it embeds, in the distribution's Chromium.
//
// `cargo xtask test` builds everything and sets AETHER_BIN to the release kernel; by hand:
//   AETHER_BIN=../target/release/aether npx playwright test
// Browsers are never downloaded: Chromium comes from the distribution (see TOOLCHAIN.md).
import { defineConfig, devices } from '@playwright/test';
import { kernelBinary, freshDataDir, CHROMIUM_PATH, CHROMIUM_ARGS } from './tests/support/env';

/** Port of the shared kernel that `webServer` starts; specs that kill a kernel start their own. */
const PORT = Number(process.env.AETHER_E2E_PORT ?? 18080);
const BASE_URL = `http://127.0.0.1:${PORT}`;

export default defineConfig({
  testDir: 'tests',
  // One kernel, one browser, two cores: run specs one after another.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: 'playwright-report/results.json' }]],
  outputDir: 'test-results',
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'] } }],
  webServer: {
    command: `'${kernelBinary().replace(/'/g, `'\\''`)}' --listen 127.0.0.1:${PORT}`,
    url: `${BASE_URL}/healthz`,
    // A kernel already on the port could be a stale build: refuse to test it.
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 2_000 },
    env: { AETHER_DATA_DIR: freshDataDir() },
  },
});
