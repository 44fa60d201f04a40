/**
 * Fixtures for the CLI tests: the built `mgw` run as a child process (never blocking the event
 * loop, so an in-process gateway keeps answering), socat PTY pairs, and the pymodbus peer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';

export const CLI = resolve('dist/src/cli/main.js');
export const PEER = resolve('test/peers/modbus_server.py');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound once by the OS, then released). */
export function closedPort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** Runs `node dist/src/cli/main.js ...args`; the gateway URL defaults to a closed port. */
export function mgw(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 20_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, MGW_URL: 'http://127.0.0.1:1', NO_COLOR: undefined, FORCE_COLOR: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mgw ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : -1), stdout, stderr });
    });
  });
}

/** Polls cond until true or the deadline passes (no fixed sleeps). */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export interface PtyPair {
  /** The end the CLI opens. */
  a: string;
  /** The end the peer opens. */
  b: string;
  stop: () => Promise<void>;
}

/** `socat pty,raw,echo=0,link=A pty,raw,echo=0,link=B`; stopped with TERM so the links go away. */
export async function ptyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-cli-pty-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
  const stop = async () => {
    socat.kill('SIGTERM');
    await exited(socat);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(() => existsSync(a) && existsSync(b), 'socat PTY links');
  } catch (err) {
    await stop();
    throw err;
  }
  return { a, b, stop };
}

export type PeerTable = 'co' | 'di' | 'ir' | 'hr';

export interface ModbusPeer {
  /** TCP port or serial device it serves. */
  where: string;
  set(unit: number, table: PeerTable, address: number, values: (number | boolean)[]): Promise<void>;
  get(unit: number, table: PeerTable, address: number, count: number): Promise<(number | boolean)[]>;
  stop(): Promise<void>;
}

/** Starts test/peers/modbus_server.py (pymodbus) serving `units`; other ids stay silent. */
export async function startModbusPeer(kind: 'tcp' | 'rtu', where: string, units: number[]): Promise<ModbusPeer> {
  const child = spawn('/usr/bin/python3', [PEER, kind, where, '--units', units.join(',')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  let ready: string | undefined;
  lines.on('line', (line) => {
    if (ready === undefined && line.startsWith('READY ')) ready = line.slice(6).trim();
    else waiting.shift()?.(line);
  });
  const stop = async () => {
    child.stdin.end();
    child.kill('SIGTERM');
    await exited(child);
  };
  try {
    await until(() => ready !== undefined || child.exitCode !== null, 'the pymodbus peer', 10_000);
    if (ready === undefined) throw new Error(`pymodbus peer exited: ${stderr}`);
  } catch (err) {
    await stop();
    throw err;
  }
  const call = (req: Record<string, unknown>) =>
    new Promise<{ ok: boolean; values?: (number | boolean)[]; error?: string }>((res) => {
      waiting.push((line) => res(JSON.parse(line)));
      child.stdin.write(`${JSON.stringify(req)}\n`);
    });
  return {
    where: ready!,
    async set(unit, table, address, values) {
      const r = await call({ op: 'set', unit, table, address, values });
      if (!r.ok) throw new Error(`peer set failed: ${r.error}`);
    },
    async get(unit, table, address, count) {
      const r = await call({ op: 'get', unit, table, address, count });
      if (!r.ok) throw new Error(`peer get failed: ${r.error}`);
      return r.values!;
    },
    stop,
  };
}

/**
 * The register map every unit gets in these tests (zero-based holding registers):
 *   0 unit*100 | 1 int16 -123 | 2-3 int32 -100000 | 4-5 uint32 3000000000
 *   6-7 float32 21.5 ABCD | 8-9 float32 21.5 CDAB | 10-11 float32 21.5 BADC
 * input registers 0: 1234, 1-2: float32 -3.25; coils 0-2: 1 0 1; discrete inputs 0-1: 0 1.
 */
export async function loadTestMap(peer: ModbusPeer, unit: number): Promise<void> {
  await peer.set(unit, 'hr', 0, [unit * 100, 0xff85, 0xfffe, 0x7960, 0xb2d0, 0x5e00, 0x41ac, 0x0000, 0x0000, 0x41ac, 0xac41, 0x0000]);
  await peer.set(unit, 'ir', 0, [1234, 0xc050, 0x0000]);
  await peer.set(unit, 'co', 0, [true, false, true]);
  await peer.set(unit, 'di', 0, [false, true]);
}
