// The access token (SPEC §6) as a person uses it: open the desktop once with `?token=…`; the tab keeps it, the
// address bar loses it, and every connection of the tab (reloads included) presents it.
import { spawn, type ChildProcess } from 'node:child_process';
import { test as base, expect } from './support/fixtures';
import { busState } from './support/aether';
import { kernelBinary } from './support/env';
import { freePort, waitForHealthz } from './support/kernel';

const TOKEN = 's3cret-token-of-16-chars';

/** A kernel of this spec's own that requires `client_token` = TOKEN. */
const test = base.extend<{ tokenKernel: string }>({
  tokenKernel: async ({}, use) => {
    const port = await freePort();
    const child: ChildProcess = spawn(kernelBinary(), ['--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, AETHER_CLIENT_TOKEN: TOKEN },
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      await waitForHealthz(baseUrl, () => child.exitCode === null);
      await use(baseUrl);
    } finally {
      child.kill('SIGKILL');
    }
  },
});

test('a URL token is kept for the tab, removed from the address bar, and used again after a reload', async ({
  page,
  tokenKernel,
}) => {
  await page.goto(`${tokenKernel}/?token=${TOKEN}&keep=1#here`);
  await expect(busState(page)).toHaveAttribute('data-state', 'connected');
  expect(page.url()).toBe(`${tokenKernel}/?keep=1#here`);
  expect(await page.evaluate(() => sessionStorage.getItem('aether.token'))).toBe(TOKEN);

  await page.reload();
  await expect(busState(page)).toHaveAttribute('data-state', 'connected');
  expect(page.url()).not.toContain('token');
});

test('without the token the kernel refuses the tab, which keeps retrying', async ({ page, tokenKernel }) => {
  await page.goto(`${tokenKernel}/`);
  await expect(busState(page)).toHaveAttribute('data-state', 'reconnecting');
});
