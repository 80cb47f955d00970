// An outside MCP client for the specs: the MCP Inspector's command line (npm
// `@modelcontextprotocol/inspector`, pinned in package.json), run as a child process against the
// kernel's `/mcp` over Streamable HTTP with a grant's bearer token, as Claude Code or Cursor
// would connect. Each call is one process: `initialize`, then the method, then exit.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

/** The Inspector's binary, from end2end/node_modules. */
const INSPECTOR = path.resolve(__dirname, '..', '..', 'node_modules', '.bin', 'mcp-inspector');

/** How long one Inspector run may take unless told otherwise (a call that asks waits for the user). */
const RUN_TIMEOUT_MS = 60_000;

/** What one Inspector run printed, and how it ended. */
export interface InspectorRun {
  /** The exit code (`null` when it was killed for running too long). */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A grant as the page shows it: where to connect and the bearer token. */
export interface Grant {
  url: string;
  token: string;
}

/** Runs the Inspector's CLI against `grant` with `args` (`--method …`). */
export function inspect(grant: Grant, args: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<InspectorRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      INSPECTOR,
      // `--stored-auth-only`: a refused token fails the run instead of starting an interactive OAuth flow.
      ['--cli', grant.url, '--transport', 'http', '--stored-auth-only', '--header', `Authorization: Bearer ${grant.token}`, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit code of a `tools/call` whose tool answered `isError: true` (the result is still printed on stdout). */
const TOOL_IS_ERROR_EXIT = 5;

/** The error the Inspector printed when it failed (`{code, message}`, one JSON line); throws when it did not fail. */
export function failure(run: InspectorRun): { code: string; message: string } {
  if (run.code === 0) {
    throw new Error(`the MCP Inspector succeeded where it should have failed:\n${run.stdout}`);
  }
  const line = `${run.stderr}\n${run.stdout}`.split('\n').find((l) => l.startsWith('{"error"'));
  if (!line) throw new Error(`the MCP Inspector exited with ${run.code} without an error line:\n${run.stderr}\n${run.stdout}`);
  return JSON.parse(line).error;
}

/** The JSON the Inspector printed on success; throws with its output otherwise. */
export function json(run: InspectorRun): any {
  if (run.code !== 0) {
    throw new Error(`the MCP Inspector exited with ${run.code}:\n${run.stderr}\n${run.stdout}`);
  }
  return JSON.parse(run.stdout);
}

/** `tools/list`: the names of the tools the grant serves. */
export async function listTools(grant: Grant): Promise<string[]> {
  const listed = json(await inspect(grant, ['--method', 'tools/list']));
  return (listed.tools as { name: string }[]).map((t) => t.name);
}

/** A tool's result as the Inspector prints it: `{content: [{type, text}], isError?}`. */
export interface ToolResult {
  content: { type: string; text: string }[];
  isError?: boolean;
}

/** `tools/call` of `tool` with `args` (each sent as `--tool-arg key=value`); not awaited by callers that must act meanwhile. */
export function callTool(grant: Grant, tool: string, args: Record<string, string>, timeoutMs?: number): Promise<InspectorRun> {
  const pairs = Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${v}`]);
  return inspect(grant, ['--method', 'tools/call', '--tool-name', tool, ...pairs], timeoutMs);
}

/** The text a tool call returned (its content blocks), with whether the tool answered with an error. */
export function toolText(run: InspectorRun): { text: string; isError: boolean } {
  const toolError = run.code === TOOL_IS_ERROR_EXIT && failure(run).code === 'tool_is_error';
  const result = (toolError ? JSON.parse(run.stdout) : json(run)) as ToolResult;
  return { text: result.content.map((c) => c.text).join(''), isError: result.isError === true };
}
