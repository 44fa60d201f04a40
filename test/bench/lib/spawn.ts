/**
 * Child processes of the bench: pinned to a core with taskset, TypeScript through tsx, an IPC
 * channel for commands. Every child is tracked and killed (TERM, then KILL) when the bench ends.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const children = new Set<ChildProcess>();

export interface Child {
  proc: ChildProcess;
  pid: number;
  send(msg: unknown): void;
  /** Resolves with the next IPC message whose cmd is `cmd`; rejects on exit or timeout. */
  next<T = Record<string, unknown>>(cmd: string, timeoutMs: number): Promise<T>;
  stop(): Promise<void>;
}

/**
 * The machine is shared: when allowed (root), bench processes run at nice -10 so a compiler
 * on the same core does not end up in the measurement. BENCH_NICE=0 turns that off.
 */
const NICE = canRenice() ? (process.env['BENCH_NICE'] ?? '-10') : '0';

function canRenice(): boolean {
  return spawnSync('nice', ['-n', '-10', 'true']).status === 0;
}

export const benchNice = Number(NICE);

/**
 * Measured phases may run the main threads at SCHED_FIFO 10 (root only; BENCH_RT=0 turns it
 * off): on a shared machine a neighbour's time slices, not the server, would otherwise set the
 * p99 and the throughput. The kernel still keeps 5% of each core for everyone else.
 */
export const benchRealtime = process.env['BENCH_RT'] !== '0' && spawnSync('chrt', ['-f', '10', 'true']).status === 0;

export function setRealtime(pids: number[], on: boolean, allThreads = false): void {
  if (!benchRealtime) return;
  const all = allThreads ? ['-a'] : [];
  for (const pid of pids) {
    const r = on ? spawnSync('chrt', [...all, '-f', '-p', '10', String(pid)]) : spawnSync('chrt', [...all, '-o', '-p', '0', String(pid)]);
    if (r.status !== 0) throw new Error(`chrt on ${pid} failed: ${r.stderr.toString().trim()}`);
  }
}

export function spawnPinned(
  cpu: number,
  args: string[],
  opts: { ipc?: boolean; stdout?: 'pipe' | 'ignore' | 'inherit'; realtime?: boolean; env?: NodeJS.ProcessEnv } = {},
): ChildProcess {
  // Reset-on-fork: only the main thread is real-time; V8 and libuv threads it starts are not, so
  // the main thread can never starve a helper it waits for on the same core.
  const rt = opts.realtime === true && benchRealtime ? ['chrt', '--reset-on-fork', '-f', '10'] : [];
  const [cmd, ...rest] = [...rt, 'nice', '-n', NICE, 'taskset', '-c', String(cpu), process.execPath, ...args];
  const proc = spawn(cmd!, rest, {
    cwd: ROOT,
    stdio: ['ignore', opts.stdout ?? 'ignore', 'inherit', ...(opts.ipc === false ? [] : ['ipc' as const])],
    env: opts.env ?? { ...process.env, NODE_ENV: 'production' },
  });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  return proc;
}

/**
 * V8 flags for every measured Node process (servers and load generator alike). Only the main
 * thread runs at real-time priority; with V8's parallel GC the main thread waits for helper
 * threads that a busy neighbour can hold off the core for 100+ ms, so GC stays on the main
 * thread (BENCH_V8_FLAGS overrides).
 */
export const V8_FLAGS = (process.env['BENCH_V8_FLAGS'] ?? '--single-threaded-gc').split(' ').filter((f) => f !== '');

/** A bundled bench process (see build.ts: `servers/gateway`, `loadgen`, ...) on core `cpu`. */
export function spawnScript(cpu: number, entry: string, args: string[] = []): Child {
  return wrap(spawnPinned(cpu, [...V8_FLAGS, `test/bench/.build/${entry}.js`, ...args]));
}

export function wrap(proc: ChildProcess): Child {
  const inbox: Record<string, unknown>[] = [];
  const waiters: { cmd: string; resolve: (m: any) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  let exited: string | undefined;
  proc.on('message', (m: Record<string, unknown>) => {
    const i = waiters.findIndex((w) => w.cmd === m['cmd']);
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      clearTimeout(w!.timer);
      w!.resolve(m);
    } else inbox.push(m);
  });
  proc.on('exit', (code, signal) => {
    exited = `exited with ${code ?? signal}`;
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`${proc.spawnargs.slice(-3).join(' ')} ${exited} while waiting for ${w.cmd}`));
    }
  });
  return {
    proc,
    pid: proc.pid!,
    // A child that already exited cannot be told anything; its exit is reported by next().
    send: (msg) => {
      if (proc.connected) proc.send(msg as never);
    },
    next: (cmd, timeoutMs) =>
      new Promise((resolve, reject) => {
        const i = inbox.findIndex((m) => m['cmd'] === cmd);
        if (i >= 0) return resolve(inbox.splice(i, 1)[0] as never);
        if (exited !== undefined) return reject(new Error(`child ${exited}`));
        const timer = setTimeout(() => {
          const k = waiters.findIndex((w) => w.resolve === resolve);
          if (k >= 0) waiters.splice(k, 1);
          reject(new Error(`no ${cmd} from ${proc.spawnargs.slice(-3).join(' ')} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push({ cmd, resolve, reject, timer });
      }),
    stop: () => stopProcess(proc),
  };
}

/** TERM (KILL after 3 s); `signal: 'SIGKILL'` where a clean shutdown is not part of the measurement. */
export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 3000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill(signal);
  });
}

/** Kills whatever is still running (on error or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stopProcess(c)));
}
