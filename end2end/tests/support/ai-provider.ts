// A small OpenAI-compatible chat-completions server on loopback for the AI specs: the one outside
// service the desktop reaches (through the kernel) that cannot run here. It answers
// `POST /v1/chat/completions` with real Server-Sent Events, in small chunks:
//
//   * an inline completion request (the system prompt of `ai.complete`) → COMPLETION;
//   * a "Fix this" request (the user turn says it failed) → FIXED_REPLY (a fenced file + a sentence);
//   * an agent's request (it offers `tools`) → the next scripted turn (see `script`): text, then
//     `delta.tool_calls` fragments as an OpenAI-compatible server streams them (each call's id,
//     type and name first, its JSON arguments in pieces), finish_reason `tool_calls` (or `stop`
//     when the turn calls nothing), a usage frame, `[DONE]`; with no turn left, "Done.";
//   * anything else → CHAT_REPLY.
//
// Every request body is recorded, so a spec can check what the desktop (or the kernel's agent) sent.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from './fixtures';
import { Kernel } from './kernel';

export const CHAT_REPLY = 'This module prints a greeting with fd_write and exits.';
export const COMPLETION = 'i32.const 42';

export interface Seen {
  model: string;
  // `content` is null on an assistant turn that only called tools (the agent's history).
  messages: { role: string; content: string; tool_call_id?: string; tool_calls?: unknown[] }[];
  tools?: { type: string; function: { name: string } }[];
}

/** One answer of the scripted model: some text, then tool calls (name and JSON arguments). */
export interface ScriptedTurn {
  text?: string;
  calls?: { name: string; arguments: Record<string, unknown> }[];
  promptTokens?: number;
  completionTokens?: number;
}

export class FakeProvider {
  readonly seen: Seen[] = [];
  private turns: ScriptedTurn[] = [];
  private calls = 0;
  private constructor(
    private readonly server: http.Server,
    readonly port: number,
    private readonly fixed: string,
  ) {}

  /** Starts the provider on a free loopback port; `fixed` is the file "Fix this" proposes. */
  static async start(fixed: string): Promise<FakeProvider> {
    let provider: FakeProvider | undefined;
    const server = http.createServer((req, res) => provider?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    provider = new FakeProvider(server, (server.address() as AddressInfo).port, fixed);
    return provider;
  }

  /** Queues the answers to the next agent requests, in order (replacing what is left). */
  script(turns: ScriptedTurn[]): void {
    this.turns = [...turns];
  }

  /** Scripted turns not asked for yet. */
  get turnsLeft(): number {
    return this.turns.length;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      const request = JSON.parse(body) as Seen;
      this.seen.push(request);
      if (request.tools && request.tools.length > 0) {
        void this.streamTurn(res, this.turns.shift() ?? { text: 'Done.' });
        return;
      }
      const system = request.messages[0]?.content ?? '';
      const last = request.messages[request.messages.length - 1]?.content ?? '';
      const answer = system.includes('code completion engine')
        ? COMPLETION
        : last.includes('failed with')
          ? `\`\`\`wat\n${this.fixed}\n\`\`\`\nThe instruction was misspelled.`
          : CHAT_REPLY;
      void this.stream(res, answer);
    });
  }

  private async stream(res: http.ServerResponse, answer: string): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const frame = (value: unknown) => res.write(`data: ${JSON.stringify(value)}\n\n`);
    for (let i = 0; i < answer.length; i += 8) {
      frame({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: answer.slice(i, i + 8) }, finish_reason: null }] });
      await new Promise((r) => setTimeout(r, 5));
    }
    frame({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
    frame({ choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
    res.end('data: [DONE]\n\n');
  }

  private async streamTurn(res: http.ServerResponse, turn: ScriptedTurn): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const value of turnFrames(turn, () => `call_${++this.calls}`)) {
      res.write(`data: ${JSON.stringify(value)}\n\n`);
      await new Promise((r) => setTimeout(r, FRAME_GAP_MS));
    }
    res.end('data: [DONE]\n\n');
  }
}

/** How long the scripted model waits between two frames, in ms. */
const FRAME_GAP_MS = 5;

/** The SSE frames of one scripted turn, as chat-completions streams them. */
export function turnFrames(turn: ScriptedTurn, callIds: () => string): unknown[] {
  const frames: unknown[] = [];
  const text = turn.text ?? '';
  for (let i = 0; i < text.length; i += 8) {
    frames.push({ object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: text.slice(i, i + 8) }, finish_reason: null }] });
  }
  const calls = turn.calls ?? [];
  calls.forEach((call, index) => {
    const args = JSON.stringify(call.arguments);
    const cut = Math.floor(args.length / 2);
    const fragment = (value: unknown) => ({ choices: [{ index: 0, delta: { tool_calls: [value] }, finish_reason: null }] });
    frames.push(fragment({ index, id: callIds(), type: 'function', function: { name: call.name, arguments: args.slice(0, cut) } }));
    frames.push(fragment({ index, function: { arguments: args.slice(cut) } }));
  });
  frames.push({ choices: [{ index: 0, delta: {}, finish_reason: calls.length > 0 ? 'tool_calls' : 'stop' }] });
  const prompt = turn.promptTokens ?? 100;
  const completion = turn.completionTokens ?? 20;
  frames.push({ choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });
  return frames;
}

/** The environment that points a kernel at `provider`. */
export function aiEnv(provider: FakeProvider): Record<string, string> {
  return {
    AETHER_AI__PROVIDER__BASE_URL: provider.baseUrl,
    AETHER_AI__PROVIDER__MODEL: 'loopback-test',
  };
}

/** A loopback provider answering with `wat` and a kernel pointed at it ([`aiEnv`]), started
 * before the tests of the file (or `describe` block) that calls this and stopped after them. */
export function aiKernel(wat = '(module)'): { provider: FakeProvider; kernel: Kernel } {
  const both = {} as { provider: FakeProvider; kernel: Kernel };
  test.beforeAll(async () => {
    both.provider = await FakeProvider.start(wat);
    both.kernel = await Kernel.start(undefined, aiEnv(both.provider));
  });
  test.afterAll(async () => {
    await both.kernel?.kill();
    await both.provider?.stop();
  });
  return both;
}
