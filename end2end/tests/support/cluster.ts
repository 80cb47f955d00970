// A cluster of the spec's own: a nats-server on a free port with a temporary JetStream store, two
// gateway kernels that run no WASM themselves (`gw-a`, `gw-b`, `roles: [gateway]`) serving the
// desktop on free ports, and one runner process (`runner-1`, `aether --role runner`, no HTTP) that
// runs every gateway's programs. The runner may be killed and started again; `stop()` reaps every
// process and removes the temporary folder.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from '@playwright/test';
import { kernelBinary } from './env';
import { freePort, waitForHealthz } from './kernel';

/** How long nats-server may take to accept connections. */
const NATS_START_TIMEOUT_MS = 10_000;

/** What `kernel.stats` says of the cluster link (`shared/src/kernel.rs`, `ClusterReport`). */
export interface ClusterReport {
  kernel_id: string;
  roles: string[];
  connected: boolean;
  peers: string[];
  events_sent: number;
  events_received: number;
  events_dropped: number;
  remote_programs: number;
  stand_ins: number;
}

/**
 * The nats-server binary: `NATS_SERVER`, else Debian's package path (sbin, which a plain user's
 * PATH may lack), else whatever `nats-server` the PATH finds.
 */
export function natsServerBinary(): string {
  if (process.env.NATS_SERVER) return process.env.NATS_SERVER;
  return ['/usr/sbin/nats-server', '/usr/bin/nats-server'].find((p) => fs.existsSync(p)) ?? 'nats-server';
}

/** Resolves once something accepts a TCP connection on 127.0.0.1:`port`. */
async function waitForPort(port: number, alive: () => boolean, what: () => string): Promise<void> {
  const deadline = Date.now() + NATS_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`nats-server exited before it listened on ${port}\n${what()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port} within ${NATS_START_TIMEOUT_MS} ms\n${what()}`);
}

/** One child process, its output's tail kept to explain a failure. */
class Proc {
  private child: ChildProcess | undefined;
  private tail = '';

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few KiB of what the process printed. */
  get output(): string {
    return `${this.name} output:\n${this.tail}`;
  }

  spawn(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.tail = '';
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const keep = (chunk: Buffer) => {
      this.tail = (this.tail + chunk.toString()).slice(-4000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (e) => keep(Buffer.from(`cannot start ${this.command}: ${e.message}\n`)));
    this.child = child;
  }

  /** SIGKILL, as a crash would; resolves once the process has exited. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }
}

/** A gateway kernel of the cluster: serves the desktop at `baseUrl`. */
export interface Gateway {
  readonly kernelId: string;
  readonly port: number;
  readonly baseUrl: string;
}

export class Cluster {
  /** The runner's name in the cluster. */
  static readonly RUNNER_ID = 'runner-1';

  private readonly nats: Proc;
  private readonly gatewayProcs: Proc[] = [];
  private readonly runnerProc: Proc;
  readonly gateways: Gateway[] = [];

  private constructor(
    private readonly root: string,
    readonly natsPort: number,
  ) {
    const store = path.join(root, 'nats-store');
    fs.mkdirSync(store);
    this.nats = new Proc('nats-server', natsServerBinary(), [
      '-a',
      '127.0.0.1',
      '-p',
      String(natsPort),
      '-js',
      '-sd',
      store,
    ]);
    const config = this.writeConfig(Cluster.RUNNER_ID, null);
    this.runnerProc = new Proc(Cluster.RUNNER_ID, kernelBinary(), [
      '--config',
      config,
      '--role',
      'runner',
      '--data-dir',
      path.join(root, `${Cluster.RUNNER_ID}-data`),
    ]);
  }

  get natsUrl(): string {
    return `nats://127.0.0.1:${this.natsPort}`;
  }

  /** `gw-a`, the first gateway. */
  get a(): Gateway {
    return this.gateways[0];
  }

  /** `gw-b`, the second gateway. */
  get b(): Gateway {
    return this.gateways[1];
  }

  get runnerRunning(): boolean {
    return this.runnerProc.running;
  }

  /**
   * Starts nats-server, the gateways `gw-a` and `gw-b` (each waited for on `/healthz`) and the
   * runner. The runner has no HTTP: wait for it with {@link waitForPeer} from a page.
   * On any failure everything started so far is stopped.
   */
  static async start(): Promise<Cluster> {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'aether-cluster-'));
    let cluster: Cluster | undefined;
    try {
      cluster = new Cluster(root, await freePort());
      await cluster.startNats();
      for (const id of ['gw-a', 'gw-b']) await cluster.startGateway(id);
      await cluster.startRunner();
      return cluster;
    } catch (e) {
      if (cluster) await cluster.stop();
      else fs.rmSync(root, { recursive: true, force: true });
      throw e;
    }
  }

  /** Starts the runner process (again, after {@link killRunner}), keeping its data folder. */
  async startRunner(): Promise<void> {
    this.runnerProc.spawn();
    // It has no port to wait on; fail early if it dies at start (a bad config, a taken folder).
    await new Promise((r) => setTimeout(r, 200));
    if (!this.runnerProc.running) throw new Error(`the runner exited at start\n${this.runnerProc.output}`);
  }

  /** Kills the runner with SIGKILL, as a crash would, and waits until it has exited. */
  async killRunner(): Promise<void> {
    await this.runnerProc.kill();
  }

  /** What every process printed last: for a failed test's message. */
  get output(): string {
    return [this.nats, ...this.gatewayProcs, this.runnerProc].map((p) => p.output).join('\n');
  }

  /** Kills every process and removes the temporary folder; safe to call twice. */
  async stop(): Promise<void> {
    await this.runnerProc.kill();
    for (const gw of this.gatewayProcs) await gw.kill();
    await this.nats.kill();
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private async startNats(): Promise<void> {
    this.nats.spawn();
    await waitForPort(
      this.natsPort,
      () => this.nats.running,
      () => this.nats.output,
    );
  }

  private async startGateway(kernelId: string): Promise<void> {
    const port = await freePort();
    const config = this.writeConfig(kernelId, ['gateway']);
    const proc = new Proc(kernelId, kernelBinary(), [
      '--config',
      config,
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      path.join(this.root, `${kernelId}-data`),
    ]);
    this.gatewayProcs.push(proc);
    proc.spawn();
    const baseUrl = `http://127.0.0.1:${port}`;
    try {
      await waitForHealthz(baseUrl, () => proc.running);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${proc.output}`);
    }
    this.gateways.push({ kernelId, port, baseUrl });
  }

  /** Writes `<kernelId>.yaml` with a `cluster:` block (and `roles`, when given); returns its path. */
  private writeConfig(kernelId: string, roles: string[] | null): string {
    const file = path.join(this.root, `${kernelId}.yaml`);
    const lines = ['cluster:', `  nats_url: ${this.natsUrl}`, `  kernel_id: ${kernelId}`];
    if (roles) lines.push(`  roles: [${roles.join(', ')}]`);
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }
}

/** `kernel.stats` → `cluster` of the gateway `page` is connected to, asked through the devtools hook. */
export async function clusterReport(page: Page): Promise<ClusterReport> {
  const stats = await page.evaluate(() => window.aether.request('kernel.stats', {}));
  return stats.cluster as ClusterReport;
}

/** A WASI program that writes `line` and a newline to stdout and returns (ASCII without `"` or `\`). */
export function printWat(line: string): string {
  if (!/^[\x20-\x7e]*$/.test(line) || /["\\]/.test(line)) throw new Error(`printWat takes plain ASCII: ${line}`);
  const length = line.length + 1;
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "${line}\\0a")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const ${length}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
`;
}
