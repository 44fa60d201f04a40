/**
 * Footprint of the built CLI (`mgw serve`, dist/): time from spawn to the `gateway ready` log
 * line, and RSS (from /proc) and V8 heap (from a preloaded probe) with 100 simulated devices x
 * 20 points polled every second, first without clients, then with 100 WebSocket clients (and
 * the size of the welcome each of them gets). Every Node process here runs in the environment
 * systemd gives the service (serviceEnvironment).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nowMs, rssMiB } from './lib/proc.js';
import { ROOT, spawnPinned, spawnScript, stopProcess, wrap } from './lib/spawn.js';

export const FOOTPRINT_DEVICES = 100;
export const FOOTPRINT_CLIENTS = 100;

/**
 * The Node flags the systemd unit starts the gateway with (`ExecStart=/usr/bin/node <flags>
 * .../main.js`): the `service` peer runs with them, the `plain` peer without, so one run shows
 * what they buy.
 */
export function serviceNodeFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'systemd/machine-gateway.service'), 'utf8');
  const exec = /^ExecStart=(\S+)\s+(.*)$/m.exec(unit);
  if (exec === null) throw new Error('systemd/machine-gateway.service: no ExecStart line');
  const words = exec[2]!.split(/\s+/);
  const script = words.findIndex((w) => w.endsWith('main.js'));
  if (script < 0) throw new Error('systemd/machine-gateway.service: ExecStart runs no main.js');
  return words.slice(0, script);
}

/**
 * The environment systemd gives the service: its default PATH and the unit's `Environment=`
 * lines, nothing of the shell the bench runs in. Node reads some variables at start-up that cost
 * there (NODE_EXTRA_CA_CERTS, set on many build machines, makes every Node process parse the
 * whole CA bundle: about 40 ms and 2 MiB), so inheriting them would measure another start-up.
 */
export function serviceEnvironment(): NodeJS.ProcessEnv {
  const unit = readFileSync(join(ROOT, 'systemd/machine-gateway.service'), 'utf8');
  const env: NodeJS.ProcessEnv = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' };
  for (const line of unit.matchAll(/^Environment=(.*)$/gm)) {
    for (const pair of line[1]!.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`systemd/machine-gateway.service: Environment= holds ${JSON.stringify(pair)}, not NAME=value`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

export type FootprintPeer = 'service' | 'plain';
export const FOOTPRINT_PEERS: Record<FootprintPeer, string> = {
  service: 'gateway, Node flags of the systemd unit',
  plain: 'gateway, no Node flags',
};

export interface FootprintResult {
  peer: FootprintPeer;
  readyMs: number;
  idleRssMiB: number;
  idleHeapUsedMiB: number;
  /** Memory outside the V8 heap that Node accounts for (buffers, typed arrays). */
  idleExternalMiB: number;
  clientsRssMiB: number;
  clientsHeapUsedMiB: number;
  clientsExternalMiB: number;
  /** The `connection_established` one client received (bytes). */
  welcomeBytes: number;
  /** The floor: an empty Node process (`node -e` with a timer), same pinning. */
  nodeReadyMs: number;
  nodeRssMiB: number;
}

/** An empty Node process that announces itself like the gateway does: the floor for both figures. */
const NODE_FLOOR = ['-e', 'console.log(JSON.stringify({ msg: "gateway ready" })); setInterval(() => {}, 1000);'];

function writeConfig(dir: string): string {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    stringify({
      server: { host: '127.0.0.1', port: 0, max_connections: FOOTPRINT_CLIENTS },
      log: { level: 'info' },
      // Its own state (audit trail, history store), as a fresh install has.
      state_dir: dir,
      devices: Array.from({ length: FOOTPRINT_DEVICES }, (_, i) => ({
        id: `rio_${String(i + 1).padStart(3, '0')}`,
        driver: 'simulator',
        model: 'io',
        poll_interval_ms: 1000,
      })),
    }),
  );
  return file;
}

/** Spawns `mgw serve` and resolves at its `gateway ready` line with the time taken and the port. */
export async function startCli(config: string | undefined, probe: boolean, nodeFlags: string[] = []) {
  const cli = config === undefined ? NODE_FLOOR : [...nodeFlags, 'dist/src/cli/main.js', 'serve', '--config', config];
  const args = [...(probe ? ['--import', './test/bench/.build/probe.js'] : []), ...cli];
  const t0 = nowMs();
  // Timed starts run at real-time priority (when allowed) so neighbours do not set the figure.
  // Both the gateway and the empty node run in the service's environment (`--config` names the
  // file, so the unit's MGW_CONFIG is not read).
  const proc = spawnPinned(0, args, { stdout: 'pipe', ipc: probe, realtime: !probe, env: serviceEnvironment() });
  let port = 0;
  let buffered = '';
  const readyMs = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mgw serve was not ready within 30 s:\n${buffered.slice(-2000)}`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      const at = nowMs();
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const m = /\{.*\}/.exec(line);
        if (m === null) continue;
        const ev = JSON.parse(m[0]) as { msg?: string; port?: number };
        if (ev.msg === 'listening' && typeof ev.port === 'number') port = ev.port;
        if (ev.msg === 'gateway ready') {
          clearTimeout(timer);
          resolve(at - t0);
        }
      }
    });
    proc.on('exit', (code) => reject(new Error(`mgw serve exited with ${code} before ready:\n${buffered.slice(-2000)}`)));
  });
  return { proc, port, readyMs };
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function footprintOnce(peer: FootprintPeer, opts: { settleMs: number }): Promise<FootprintResult> {
  const flags = peer === 'service' ? serviceNodeFlags() : [];
  const dir = mkdtempSync(join(tmpdir(), 'mgw-bench-'));
  try {
    const config = writeConfig(dir);
    // Start-up time without the probe: exactly what systemd would run.
    const plain = await startCli(config, false, flags);
    await stopProcess(plain.proc, 'SIGKILL');
    const floor = await startCli(undefined, false);
    await settle(opts.settleMs);
    const nodeRssMiB = rssMiB(floor.proc.pid!);
    await stopProcess(floor.proc, 'SIGKILL');

    const { proc, port } = await startCli(config, true, flags);
    const child = wrap(proc);
    // The clients live in the load generator (core 1), which reads everything it is sent.
    const loadgen = spawnScript(1, 'loadgen');
    try {
      const memory = async () => {
        child.send({ cmd: 'memory' });
        const m = await child.next<{ heapUsed: number; external: number }>('memory', 10_000);
        return { rss: rssMiB(child.pid), heap: m.heapUsed / 1048576, external: m.external / 1048576 };
      };
      await settle(opts.settleMs);
      const idle = await memory();
      await loadgen.next('ready', 30_000);
      loadgen.send({ cmd: 'connect', port, clients: FOOTPRINT_CLIENTS });
      const failed = loadgen.next<{ reason: string }>('connect_failed', 60_000).then((m) => {
        throw new Error(`footprint: a client could not connect: ${m.reason}`);
      });
      failed.catch(() => undefined);
      const connected = await Promise.race([loadgen.next<{ welcomeBytes: number }>('connected', 60_000), failed]);
      await settle(opts.settleMs);
      const withClients = await memory();
      return {
        peer,
        readyMs: plain.readyMs,
        idleRssMiB: idle.rss,
        idleHeapUsedMiB: idle.heap,
        idleExternalMiB: idle.external,
        clientsRssMiB: withClients.rss,
        clientsHeapUsedMiB: withClients.heap,
        clientsExternalMiB: withClients.external,
        welcomeBytes: connected.welcomeBytes,
        nodeReadyMs: floor.readyMs,
        nodeRssMiB,
      };
    } finally {
      loadgen.send({ cmd: 'exit' });
      await Promise.all([loadgen.stop(), child.stop()]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface SoakResult {
  /** Minutes since the 100 clients connected, and the gateway's RSS and V8 heap then. */
  marks: { minutes: number; rssMiB: number; heapUsedMiB: number }[];
}

/**
 * The footprint once the gateway's bounded memory has filled: the same gateway and clients as
 * footprintOnce, sampled for `minutes`. What a running gateway holds grows with time up to its
 * bounds (the replay ring: registry.replay_size diffs per device; the trends: history.window_s
 * of samples per point; the history store's open buckets), so the figures at start are a floor.
 */
export async function soakOnce(minutes: number, marks: number[]): Promise<SoakResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-bench-'));
  try {
    const config = writeConfig(dir);
    const { proc, port } = await startCli(config, true, serviceNodeFlags());
    const child = wrap(proc);
    const loadgen = spawnScript(1, 'loadgen');
    try {
      await loadgen.next('ready', 30_000);
      loadgen.send({ cmd: 'connect', port, clients: FOOTPRINT_CLIENTS });
      await loadgen.next('connected', 60_000);
      const t0 = nowMs();
      const out: SoakResult = { marks: [] };
      for (const at of marks.filter((m) => m <= minutes)) {
        await settle(Math.max(0, t0 + at * 60_000 - nowMs()));
        child.send({ cmd: 'memory' });
        const m = await child.next<{ heapUsed: number }>('memory', 10_000);
        out.marks.push({ minutes: at, rssMiB: rssMiB(child.pid), heapUsedMiB: m.heapUsed / 1048576 });
      }
      return out;
    } finally {
      loadgen.send({ cmd: 'exit' });
      await Promise.all([loadgen.stop(), child.stop()]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
