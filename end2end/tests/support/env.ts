// Where the kernel binary and the browser live; shared by the config and the helpers.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The distribution's Chromium: Playwright never downloads a browser here. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for Chromium on a machine without a GPU, a sandbox or a network beyond loopback.
 * Without the background-networking flags Chromium floods the closed network with refused connections.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Absolute path of the kernel under test: `AETHER_BIN` (set by `cargo xtask test`), else the release build.
 * Throws with the command to run when neither exists, so a missing build is never a confusing timeout.
 */
export function kernelBinary(): string {
  const bin = process.env.AETHER_BIN
    ? path.resolve(process.env.AETHER_BIN)
    : path.resolve(__dirname, '..', '..', '..', 'target', 'release', 'aether');
  if (!fs.existsSync(bin)) {
    throw new Error(`kernel binary ${bin} not found: run \`cargo xtask test\` or set AETHER_BIN`);
  }
  return bin;
}

/**
 * A fresh data folder for one kernel (compiled modules, task history), so test kernels never share
 * the user's data dir or each other's task database.
 */
export function freshDataDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'aether-e2e-'));
}
