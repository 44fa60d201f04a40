/**
 * `mgw serve` from dist/ as a real child process, for the tests that kill it, fill its disk or
 * move its files: its JSON log lines parsed, its port taken from the `listening` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/src/cli/main.js');

export interface Daemon {
  child: ChildProcess;
  logs: Record<string, any>[];
  url: string;
  port: number;
  /** Resolves with the first log line (seen or future) matching pred. */
  next: (pred: (l: Record<string, any>) => boolean, timeoutMs?: number) => Promise<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Writes `yaml` to DIR/gateway.yaml and starts the gateway on it; resolves once it is ready. */
export async function serve(dir: string, yaml: string, options: { env?: Record<string, string>; wrap?: string[] } = {}): Promise<Daemon> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const config = join(dir, 'gateway.yaml');
  writeFileSync(config, yaml);
  const argv = [process.execPath, CLI, 'serve', '--config', config];
  const [cmd, ...args] = [...(options.wrap ?? []), ...argv];
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...options.env } });
  const logs: Record<string, any>[] = [];
  let waiters: { pred: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] = [];
  let buf = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const l = JSON.parse(line) as Record<string, any>;
      logs.push(l);
      waiters = waiters.filter((w) => (w.pred(l) ? (w.resolve(l), false) : true));
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const next = (pred: (l: Record<string, any>) => boolean, timeoutMs = 20_000) => {
    const seen = logs.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, any>>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no such log line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)} last lines: ${JSON.stringify(logs.slice(-5))}`)), timeoutMs);
      void exited.then(({ code, signal }) => rej(new Error(`mgw serve exited (${code ?? signal}) before the log line; stderr: ${stderr.slice(-2000)}`)));
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(timer);
          res(l);
        },
      });
    });
  };
  const listening = await next((l) => l['msg'] === 'listening');
  await next((l) => l['msg'] === 'gateway ready');
  const port = listening['port'] as number;
  return { child, logs, url: `http://127.0.0.1:${port}`, port, next, exited };
}

/** A config for `serve`: four simulated motors on loopback, the state in `stateDir`. */
export function motorsYaml(stateDir: string, extra = ''): string {
  return [
    'server:',
    '  host: 127.0.0.1',
    '  port: 0',
    'log:',
    '  level: info',
    `state_dir: ${JSON.stringify(stateDir)}`,
    'limits:',
    '  rest_writes_per_s: 100000',
    '  rest_write_burst: 100000',
    'devices:',
    ...['motor_01', 'motor_02', 'motor_03', 'motor_04'].map((id) => `  - { id: ${id}, driver: simulator, model: motor, poll_interval_ms: 200 }`),
    extra,
  ].join('\n');
}
