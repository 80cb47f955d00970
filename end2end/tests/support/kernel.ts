// A kernel process of a test's own, on its own port, that the test may kill and start again.
//
// The shared kernel from `webServer` must survive every spec, so a spec that drops connections starts one of
// these instead. It never reuses a port it did not pick, and `stop()` always reaps the process.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { freshDataDir, kernelBinary } from './env';

/** How long a kernel may take from spawn to a 200 on `/healthz`. */
const START_TIMEOUT_MS = 20_000;

/** A free TCP port on 127.0.0.1, found by binding port 0 and releasing it. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a probe socket'));
      });
    });
  });
}

/** Polls `GET /healthz` until it answers 200 "ok"; throws if `alive()` turns false or the time runs out. */
export async function waitForHealthz(baseUrl: string, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`the kernel at ${baseUrl} exited before /healthz answered (${last})`);
    try {
      const res = await fetch(`${baseUrl}/healthz`);
      const body = (await res.text()).trim();
      if (res.status === 200 && body === 'ok') return;
      last = `HTTP ${res.status} ${JSON.stringify(body)}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the kernel at ${baseUrl} did not answer /healthz within ${START_TIMEOUT_MS} ms (${last})`);
}

/** One kernel process on a fixed port; `kill()` and `start()` may be repeated to simulate a crash and restart. */
export class Kernel {
  private child: ChildProcess | undefined;
  private stderr = '';
  /** Kept across restarts, like a real kernel's. */
  private readonly dataDir = freshDataDir();

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Starts a kernel on a free port (or `port`), with extra environment (`AETHER_*` config), and waits until it is healthy. */
  static async start(port?: number, env?: Record<string, string>): Promise<Kernel> {
    const kernel = new Kernel(port ?? (await freePort()), env);
    await kernel.start();
    return kernel;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the binary on this kernel's port and waits for `/healthz`. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`kernel on port ${this.port} is already running`);
    this.stderr = '';
    const child = spawn(kernelBinary(), ['--listen', `127.0.0.1:${this.port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, AETHER_DATA_DIR: this.dataDir, ...this.env },
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      // Keep the tail only: enough to explain a failed start.
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.child = child;
    try {
      await waitForHealthz(this.baseUrl, () => this.running);
    } catch (e) {
      await this.kill();
      throw new Error(`${(e as Error).message}\nkernel stderr:\n${this.stderr}`);
    }
  }

  /** Kills the process with SIGKILL, as a crash would, and waits until it has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Kills the process (if running) and starts a new one on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }
}
