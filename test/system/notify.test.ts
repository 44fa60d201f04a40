/**
 * The notification sequence `mgw serve` sends to systemd, received on a real unix datagram
 * socket (a small python3 receiver stands in for systemd: Node has no unix datagram sockets).
 * The gateway runs as a real child process from dist/ with libsystemd's sd_notify via koffi.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const RECEIVER = join(ROOT, 'test/system/notify-receiver.py');

/** Lines from a child's stdout, parsed as JSON, with a way to wait for one. */
class Lines {
  readonly items: Record<string, any>[] = [];
  private buf = '';
  private waiters: (() => void)[] = [];
  constructor(child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buf += chunk.toString();
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (line.startsWith('{')) this.items.push(JSON.parse(line));
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }
  /** Resolves with the first item at or after index `from` that matches. */
  async next(pred: (m: Record<string, any>) => boolean, from = 0, timeoutMs = 15_000): Promise<{ item: Record<string, any>; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.items.findIndex((m, i) => i >= from && pred(m));
      if (index >= 0) return { item: this.items[index]!, index };
      if (Date.now() > deadline) throw new Error(`timed out waiting; got: ${JSON.stringify(this.items.slice(from)).slice(0, 2000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function configYaml(devices: string[]): string {
  return `server:\n  port: 0\nlog:\n  level: info\ndevices:\n${devices.map((id) => `  - { id: ${id}, driver: simulator, model: motor, poll_interval_ms: 50 }\n`).join('')}`;
}

async function startReceiver(dir: string): Promise<{ socket: string; messages: Lines }> {
  const socket = join(dir, 'notify.sock');
  const child = spawn('/usr/bin/python3', [RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const messages = new Lines(child);
  await messages.next((m) => m['listening'] === socket);
  return { socket, messages };
}

function serve(dir: string, env: Record<string, string>): { child: ChildProcess; logs: Lines; config: string } {
  const config = join(dir, 'gateway.yaml');
  if (!existsSync(config)) writeFileSync(config, configYaml(['motor_01', 'motor_02']));
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
  children.push(child);
  return { child, logs: new Lines(child), config };
}

const isMsg = (prefix: string) => (m: Record<string, any>) => typeof m['message'] === 'string' && (m['message'] as string).split('\n').some((l) => l.startsWith(prefix));
const field = (m: Record<string, any>, key: string) => (m['message'] as string).split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
const exited = (child: ChildProcess) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));

describe('systemd notifications from mgw serve', () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);

  it('says READY only when listening, feeds the watchdog, survives a broken reload, applies a good one, and says STOPPING', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-notify-'));
    dirs.push(dir);
    const { socket, messages } = await startReceiver(dir);
    // WATCHDOG_USEC 400 ms: pings every 200 ms.
    const { child, logs, config } = serve(dir, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000' });

    const ready = await messages.next(isMsg('READY=1'));
    expect(field(ready.item, 'MAINPID')).toBe(String(child.pid));
    expect(field(ready.item, 'STATUS')).toMatch(/^\d\/2 devices online, 0 clients$/);
    // Nothing before READY: systemd must not see the service as up any earlier.
    expect(messages.items.slice(1, ready.index).filter((m) => 'message' in m)).toEqual([]);
    const listening = await logs.next((l) => l['msg'] === 'listening');
    const url = `http://127.0.0.1:${listening.item['port']}`;
    // READY came after the server listened and the drivers started.
    const readyLog = await logs.next((l) => l['msg'] === 'gateway ready');
    expect(readyLog.index).toBeGreaterThan(listening.index);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    const w1 = await messages.next(isMsg('WATCHDOG=1'), ready.index + 1);
    await messages.next(isMsg('WATCHDOG=1'), w1.index + 1);

    // A broken file: RELOADING, then READY again with the reason in STATUS, still serving the old devices.
    writeFileSync(config, 'server:\n  port: 0\ndevices:\n  - { id: motor_01, driver: simulator, model: robot }\n');
    let mark = messages.items.length;
    child.kill('SIGHUP');
    const reloading = await messages.next(isMsg('RELOADING=1'), mark);
    expect(field(reloading.item, 'MONOTONIC_USEC')).toMatch(/^\d+$/);
    const refused = await messages.next(isMsg('READY=1'), reloading.index + 1);
    expect(field(refused.item, 'STATUS')).toContain('last reload refused');
    expect(field(refused.item, 'STATUS')).toContain('devices[0].model');
    const refusedLog = await logs.next((l) => String(l['msg']).startsWith('reload refused'));
    expect(refusedLog.item['level']).toBe(50);
    const still = (await (await fetch(`${url}/api/v1/devices`)).json()) as { count: number };
    expect(still.count).toBe(2);

    // A good file with one more device: applied without a restart.
    writeFileSync(config, configYaml(['motor_01', 'motor_02', 'motor_03']));
    mark = messages.items.length;
    child.kill('SIGHUP');
    const reloaded = await messages.next(isMsg('READY=1'), mark);
    expect(field(reloaded.item, 'STATUS')).toMatch(/^\d\/3 devices online/);
    const after = (await (await fetch(`${url}/api/v1/devices`)).json()) as { count: number };
    expect(after.count).toBe(3);

    mark = messages.items.length;
    child.kill('SIGTERM');
    await messages.next(isMsg('STOPPING=1'), mark);
    expect(await exited(child)).toBe(0);
    expect(messages.items.every((m) => !('fds' in m) || m['fds'] === 0)).toBe(true);
  });

  it('stops feeding the watchdog when the event loop is blocked by the test trigger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-notify-'));
    dirs.push(dir);
    const { socket, messages } = await startReceiver(dir);
    const { child, logs } = serve(dir, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '400000', MGW_TEST_HANG_ON_SIGUSR2: '1' });
    const ready = await messages.next(isMsg('READY=1'));
    await messages.next(isMsg('WATCHDOG=1'), ready.index + 1);
    const port = (await logs.next((l) => l['msg'] === 'listening')).item['port'];

    child.kill('SIGUSR2');
    await logs.next((l) => String(l['msg']).startsWith('SIGUSR2: blocking'));
    const mark = messages.items.length;
    // The hung process answers nothing; during that second (5 ping periods) no WATCHDOG=1 arrives.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    expect(messages.items.slice(mark).filter(isMsg('WATCHDOG=1'))).toEqual([]);
    expect(child.exitCode).toBeNull();
  });

  it('runs without NOTIFY_SOCKET: no watchdog, no hang trigger, clean stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-notify-'));
    dirs.push(dir);
    const { child, logs } = serve(dir, {});
    const port = (await logs.next((l) => l['msg'] === 'listening')).item['port'];
    await logs.next((l) => l['msg'] === 'gateway ready');
    expect(logs.items.some((l) => String(l['msg']).includes('watchdog armed'))).toBe(false);
    expect(logs.items.some((l) => String(l['msg']).includes('hang trigger'))).toBe(false);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(port).toBeGreaterThan(0);
  });
});
