// The desktop's devtools hook `window.aether`, as the specs see it, and page-level helpers around it.
import { expect, type Page } from '@playwright/test';

/** An error payload (SPEC §4) as a rejected `request` delivers it. */
export interface BusError {
  code: string;
  error: string;
  details?: Record<string, unknown>;
  _request_id?: string;
}

/** An envelope (SPEC §1) as a subscription callback receives it. */
export interface Envelope {
  topic: string;
  from?: string;
  to?: string;
  payload?: Record<string, unknown>;
  time?: string;
}

/** What the desktop exposes on `window.aether` for tests and the console. */
export interface AetherDevtools {
  state(): string;
  clientId(): string | undefined;
  kernelVersion(): string | undefined;
  request(
    topic: string,
    payload: Record<string, unknown>,
    opts?: { timeoutMs?: number; to?: string; silent?: boolean },
  ): Promise<Record<string, unknown>>;
  subscribe(pattern: string, cb: (env: Envelope) => void): unknown;
  on(pattern: string, cb: (env: Envelope) => void): unknown;
  /** Streams of the apps' requests (`vm.spawn`, `ai.chat`, …) still open. */
  openStreams(): number;
  unsubscribe(handle: unknown): void;
  publish(topic: string, payload: Record<string, unknown>, to?: string): void;
}

declare global {
  interface Window {
    aether: AetherDevtools;
    /** Envelopes collected by a spec's subscription. */
    __got: Envelope[];
    /** How a request a spec left pending settled, once it has. */
    __settled?: { ok?: unknown; err?: BusError; afterMs: number };
  }
}

/** The top bar's bus indicator. */
export const busState = (page: Page) => page.getByTestId('bus-state');

/** Opens the desktop at `url` and waits until the top bar says the bus is connected. */
export async function openDesktop(page: Page, url = '/'): Promise<void> {
  await page.goto(url);
  await expect(busState(page)).toHaveAttribute('data-state', 'connected');
  // The hook is installed by the same wasm that draws the top bar; wait for it too.
  await page.waitForFunction(() => typeof window.aether?.request === 'function' && !!window.aether.clientId());
}
