// A small OpenAI-compatible chat-completions server on loopback for the AI specs: the one outside
// service the desktop reaches (through the kernel) that cannot run here. It answers
// `POST /v1/chat/completions` with real Server-Sent Events, in small chunks:
//
//   * an inline completion request (the system prompt of `ai.complete`) → COMPLETION;
//   * a "Fix this" request (the user turn says it failed) → FIXED_REPLY (a fenced file + a sentence);
//   * anything else → CHAT_REPLY.
//
// Every request body is recorded, so a spec can check what the desktop sent.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export const CHAT_REPLY = 'This module prints a greeting with fd_write and exits.';
export const COMPLETION = 'i32.const 42';

export interface Seen {
  model: string;
  messages: { role: string; content: string }[];
}

export class FakeProvider {
  readonly seen: Seen[] = [];
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
}

/** The environment that points a kernel at `provider`. */
export function aiEnv(provider: FakeProvider): Record<string, string> {
  return {
    AETHER_AI__PROVIDER__BASE_URL: provider.baseUrl,
    AETHER_AI__PROVIDER__MODEL: 'loopback-test',
  };
}
