/**
 * Real Modbus peers for tests: the pymodbus slave (test/peers/modbus_server.py), a socat PTY
 * pair, and libmodbus's own unit-test-server built from the examples libmodbus-dev ships.
 * Every process started here is stopped with TERM by PID by the returned `stop()`.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export const PYTHON = '/usr/bin/python3';

/** Polls `cond` until it is true or the deadline passes (no fixed sleeps in tests). */
export async function waitFor<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

export type PeerTable = 'co' | 'di' | 'ir' | 'hr';

export interface PyModbusPeer {
  /** TCP port, or the RTU device path. */
  where: string;
  port: number;
  pid: number;
  set(unit: number, table: PeerTable, address: number, values: (number | boolean)[]): Promise<void>;
  get(unit: number, table: PeerTable, address: number, count: number): Promise<(number | boolean)[]>;
  /** Requests the peer served, by "unit:function code:address". */
  requests(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

/** Starts the pymodbus slave (tcp on `where` = port or 0, or rtu on a device path) and waits until it serves. */
export async function startPyModbus(kind: 'tcp' | 'rtu' | 'ascii', where: string | number, opts: { units?: number[]; sparseHr?: string; refuseFc?: number[]; identity?: [string, string, string] } = {}): Promise<PyModbusPeer> {
  const args = [kind, String(where), '--units', (opts.units ?? [1]).join(',')];
  if (opts.sparseHr) args.push('--sparse-hr', opts.sparseHr);
  if (opts.refuseFc) args.push('--refuse-fc', opts.refuseFc.join(','));
  if (opts.identity) args.push('--identity', opts.identity.join('|'));
  const peer = await startScriptPeer('modbus_server.py', args, 'the pymodbus peer');
  return {
    where: peer.where,
    port: kind === 'tcp' ? Number(peer.where) : 0,
    pid: peer.pid,
    async set(unit, table, address, values) {
      const r = await peer.ask({ op: 'set', unit, table, address, values });
      if (!r.ok) throw new Error(`peer set failed: ${r.error}`);
    },
    async get(unit, table, address, count) {
      const r = await peer.ask({ op: 'get', unit, table, address, count });
      if (!r.ok) throw new Error(`peer get failed: ${r.error}`);
      return r.values!;
    },
    async requests() {
      const r = await peer.ask({ op: 'stats' });
      if (!r.ok) throw new Error(`peer stats failed: ${r.error}`);
      return r.requests!;
    },
    stop: peer.stop,
  };
}

export interface FieldPeerRule {
  unit: number;
  fc?: number;
  address?: number;
  action: 'silent' | 'exception' | 'badcount' | 'ok' | 'delay';
  code?: number;
  /** For delay: how much later the unit answers (ms). */
  ms?: number;
}

/** The misbehaving slave of test/peers/field_peer.py: silent registers, gateway exceptions, wrong byte counts. */
export interface FieldPeer {
  where: string;
  port: number;
  set(unit: number, table: 'hr' | 'ir', address: number, values: number[]): Promise<void>;
  rule(rule: FieldPeerRule): Promise<void>;
  /** Requests received, by "unit:fc:address". */
  requests(): Promise<Record<string, number>>;
  /** When each request arrived (ms, monotonic), in order. */
  arrivals(): Promise<number[]>;
  /** Every request frame received and reply frame sent, hex (TCP with the MBAP header), in order. */
  frames(): Promise<{ requests: string[]; replies: string[] }>;
  stop(): Promise<void>;
}

export async function startFieldPeer(kind: 'tcp' | 'rtu', where: string | number, units: number[]): Promise<FieldPeer> {
  const peer = await startScriptPeer('field_peer.py', [kind, String(where), '--units', units.join(',')], 'the field peer');
  const must = async (req: object) => {
    const r = await peer.ask(req);
    if (!r.ok) throw new Error(`field peer: ${r.error}`);
    return r;
  };
  return {
    where: peer.where,
    port: kind === 'tcp' ? Number(peer.where) : 0,
    set: async (unit, table, address, values) => void (await must({ op: 'set', unit, table, address, values })),
    rule: async (rule) => void (await must({ op: 'rule', ...rule })),
    requests: async () => (await must({ op: 'stats' })).requests!,
    arrivals: async () => (await must({ op: 'times' })).times!,
    frames: async () => {
      const r = await must({ op: 'frames' });
      return { requests: r.frames!, replies: r.replies! };
    },
    stop: peer.stop,
  };
}

interface PeerReply {
  ok: boolean;
  values?: (number | boolean)[];
  requests?: Record<string, number>;
  times?: number[];
  frames?: string[];
  replies?: string[];
  error?: string;
}

/**
 * Starts a Python peer script from this folder that prints `READY <where>` and then answers one
 * JSON line on stdout for each JSON line on stdin.
 */
async function startScriptPeer(script: string, args: string[], what: string): Promise<{ where: string; pid: number; ask(req: object): Promise<PeerReply>; stop(): Promise<void> }> {
  const proc = spawn(PYTHON, [join(HERE, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const replies: ((line: string) => void)[] = [];
  const lines: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let i: number;
    while ((i = out.indexOf('\n')) >= 0) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      const waiter = line.startsWith('{') ? replies.shift() : undefined;
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const ready = await waitFor(
    `${what} to serve`,
    () => {
      if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}): ${err.slice(-2000)}`);
      return lines.find((l) => l.startsWith('READY '));
    },
    15_000,
  );
  return {
    where: ready.slice('READY '.length).trim(),
    pid: proc.pid!,
    ask: (req: object) =>
      new Promise<PeerReply>((resolve, reject) => {
        if (proc.exitCode !== null) return reject(new Error(`${what} is not running`));
        replies.push((line) => resolve(JSON.parse(line) as PeerReply));
        proc.stdin!.write(`${JSON.stringify(req)}\n`);
      }),
    stop: () => stopProcess(proc),
  };
}

export interface PtyPair {
  /** The end the gateway opens. */
  gateway: string;
  /** The end the peer opens. */
  device: string;
  stop(): Promise<void>;
}

/**
 * A socat PTY pair; `blockSize` (socat -b) fragments what crosses it, like a slow USB adapter.
 * `links` recreates a pair under the same names (an adapter plugged back in).
 */
export async function startPtyPair(blockSize?: number, links?: { gateway: string; device: string }): Promise<PtyPair> {
  const dir = links === undefined ? mkdtempSync(join(tmpdir(), 'mgw-pty-')) : '';
  const gateway = links?.gateway ?? join(dir, 'gw');
  const device = links?.device ?? join(dir, 'dev');
  const args = ['-d', '-d'];
  if (blockSize !== undefined) args.push('-b', String(blockSize));
  args.push(`pty,raw,echo=0,link=${gateway}`, `pty,raw,echo=0,link=${device}`);
  const proc = spawn('socat', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor('socat PTY links', () => {
    if (proc.exitCode !== null) throw new Error(`socat exited: ${err.slice(-1000)}`);
    return existsSync(gateway) && existsSync(device) && /starting data transfer loop/.test(err);
  });
  return { gateway, device, stop: () => stopProcess(proc) };
}

/**
 * Builds libmodbus's unit-test-server from /usr/share/doc/libmodbus-dev/examples (gunzipping
 * the sources if Debian compressed them) once per machine, into a cache under the temp dir.
 */
export function buildLibmodbusTestServer(): string {
  const src = '/usr/share/doc/libmodbus-dev/examples';
  const out = join(tmpdir(), 'mgw-libmodbus-unit-test-server-v2');
  if (existsSync(out)) return out;
  if (!existsSync(join(src, 'unit-test-server.c')) && !existsSync(join(src, 'unit-test-server.c.gz'))) {
    throw new Error(
      `libmodbus's unit-test-server.c is not in ${src}: install libmodbus-dev (bash test/setup.sh); ` +
        'in a container whose dpkg config excludes /usr/share/doc, allow /usr/share/doc/libmodbus-dev/* and reinstall it',
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'mgw-libmodbus-'));
  for (const name of ['unit-test-server.c', 'unit-test.h']) {
    if (existsSync(join(src, name))) copyFileSync(join(src, name), join(dir, name));
    else writeFileSync(join(dir, name), gunzipSync(readFileSync(join(src, `${name}.gz`))));
  }
  // Its RTU port is hard-coded; take it from the environment instead (a PTY per test).
  const c = join(dir, 'unit-test-server.c');
  writeFileSync(c, `#include <stdlib.h>\n${readFileSync(c, 'utf8').replace('"/dev/ttyUSB0"', 'getenv("MGW_RTU_PORT")')}`);
  const flags = execFileSync('pkg-config', ['--cflags', '--libs', 'libmodbus'], { encoding: 'utf8' }).trim().split(/\s+/);
  const tmpOut = join(dir, 'unit-test-server');
  execFileSync('gcc', ['-O1', '-o', tmpOut, join(dir, 'unit-test-server.c'), ...flags], { cwd: dir, stdio: 'pipe' });
  execFileSync('chmod', ['755', tmpOut]);
  // Atomic: another test process may be starting the cached binary right now.
  renameSync(tmpOut, out);
  return out;
}

/**
 * Starts libmodbus's unit-test-server in TCP mode (it listens on 127.0.0.1:1502, serves one
 * client, and exits when that client goes).
 */
export async function startLibmodbusServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const bin = buildLibmodbusTestServer();
  const proc = spawn(bin, ['tcp'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  // It prints nothing when listening, and connecting would use up its one client: look in /proc.
  await waitFor('libmodbus unit-test-server to listen', () => {
    if (proc.exitCode !== null) throw new Error(`unit-test-server exited (${proc.exitCode}): ${err}`);
    return isListening(1502);
  });
  return { port: 1502, stop: () => stopProcess(proc) };
}

/**
 * Starts libmodbus's unit-test-server in RTU mode on `device` (one end of a PTY pair), as unit
 * 17 at 115200 8N1. It talks to whoever is on the other end until it is stopped.
 */
export async function startLibmodbusRtuServer(device: string): Promise<{ unit: number; stop(): Promise<void> }> {
  const bin = buildLibmodbusTestServer();
  // stdbuf: its debug output goes to a pipe, which C would buffer until exit.
  const proc = spawn('stdbuf', ['-oL', bin, 'rtu'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MGW_RTU_PORT: device } });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  // With debug on it prints "Opening <device> at 115200 bauds (N, 8, 1)" once the port is open.
  await waitFor('libmodbus unit-test-server to open its port', () => {
    if (proc.exitCode !== null) throw new Error(`unit-test-server rtu exited (${proc.exitCode}): ${out}`);
    return out.includes('Opening');
  });
  return { unit: 17, stop: () => stopProcess(proc) };
}

/** True when a socket listens on the TCP port (from /proc/net/tcp: state 0A is LISTEN). */
function isListening(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f[1]?.endsWith(hex) === true && f[3] === '0A';
    });
}
