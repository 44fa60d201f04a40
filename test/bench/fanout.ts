/**
 * Fan-out: one server on core 0, the load generator with N clients on core 1, the stamped
 * open-loop source inside the server. Two phases per server start:
 *  - fixed rate (e.g. 200 diffs/s to 100 clients): latency p50/p99/p99.9 from intended time;
 *  - overload (a target well above what any peer sustains): deliveries/s inside the window.
 * Server CPU comes from /proc/PID/stat before and after each phase (including the drain).
 */
import { cpuSeconds, nowMs } from './lib/proc.js';
import { setRealtime, spawnScript, type Child } from './lib/spawn.js';
import type { LoadgenReport } from './loadgen.js';

export type FanoutPeer = 'gateway' | 'ws' | 'uws';

export const FANOUT_PEERS: Record<FanoutPeer, { label: string; script: string }> = {
  gateway: { label: 'gateway (uWS, Registry, app.publish)', script: 'servers/gateway' },
  ws: { label: 'ws + node:http, loop over clients', script: 'servers/ws-node' },
  uws: { label: 'bare uWS publish loop (ceiling)', script: 'servers/uws-bare' },
};

/** Bytes a uWS peer queues for one client before closing it; the same for both uWS peers. */
export const BACKPRESSURE_BYTES = 1_048_576;
/** How long undelivered messages may take to arrive after a phase before they count as lost. */
const DRAIN_MS = 3000;

export interface PhaseResult {
  rate: number;
  durationMs: number;
  sent: number;
  expected: number;
  received: number;
  deliveriesPerS: number;
  serverCpuUsPerDelivery: number;
  serverBusy: number;
  loadgenBusy: number;
  undelivered: number;
  gaps: number;
  reorders: number;
  closed: number;
  closeReasons: string[];
  sourceMaxLateMs: number;
  latencyMs: LoadgenReport['latencyMs'];
}

export interface FanoutOptions {
  clients: number;
  /** Fixed-rate phase (diffs/s over all devices) and its length; 0 ms skips it. */
  fixedRate: number;
  fixedMs: number;
  /** Unrecorded warm-up at the fixed rate before the measured phases (JIT, socket buffers). */
  warmupMs: number;
  /** Overload phase: offered deliveries/s (rate = target / clients) and its length. */
  overloadDeliveries: number;
  overloadMs: number;
}

export interface FanoutResult {
  peer: FanoutPeer;
  clients: number;
  fixed?: PhaseResult;
  overload: PhaseResult;
}

export async function fanoutOnce(peer: FanoutPeer, opts: FanoutOptions): Promise<FanoutResult> {
  const server = spawnScript(0, FANOUT_PEERS[peer].script, [String(BACKPRESSURE_BYTES)]);
  let loadgen: Child | undefined;
  try {
    const { port } = await server.next<{ port: number }>('ready', 30_000);
    loadgen = spawnScript(1, 'loadgen');
    await loadgen.next('ready', 30_000);
    loadgen.send({ cmd: 'connect', port, clients: opts.clients });
    const failed = loadgen.next<{ reason: string }>('connect_failed', 60_000).then((m) => {
      throw new Error(`${peer}: a client could not connect: ${m.reason}`);
    });
    failed.catch(() => undefined);
    await Promise.race([loadgen.next('connected', 60_000), failed]);
    // Warm-up (not recorded): JIT, first-message paths, socket buffers.
    await phase(server, loadgen, opts.clients, opts.fixedRate, opts.warmupMs);
    // Measured phases run at real-time priority when allowed (see setRealtime): the overload
    // phase is short and bounded in volume, so the core is not held for long.
    setRealtime([server.pid, loadgen.pid], true);
    try {
      const fixed = opts.fixedMs > 0 ? await phase(server, loadgen, opts.clients, opts.fixedRate, opts.fixedMs) : undefined;
      const overload = await phase(server, loadgen, opts.clients, opts.overloadDeliveries / opts.clients, opts.overloadMs);
      return { peer, clients: opts.clients, ...(fixed ? { fixed } : {}), overload };
    } finally {
      setRealtime([server.pid, loadgen.pid], false);
    }
  } finally {
    loadgen?.send({ cmd: 'exit' });
    await Promise.all([loadgen?.stop(), server.stop()]);
  }
}

async function phase(server: Child, loadgen: Child, clients: number, rate: number, durationMs: number): Promise<PhaseResult> {
  const startAt = nowMs() + 100;
  loadgen.send({ cmd: 'measure', from: startAt, to: startAt + durationMs });
  await loadgen.next('measuring', 10_000);
  const cpu0 = cpuSeconds(server.pid);
  const t0 = nowMs();
  server.send({ cmd: 'run', rate, durationMs, startAt });
  const done = await server.next<{ sent: number; maxLateMs: number }>('done', durationMs + 120_000);
  const expected = done.sent * clients;
  // Drain: wait (bounded) for what is still in flight; what never comes is reported as lost.
  const deadline = nowMs() + DRAIN_MS;
  for (;;) {
    loadgen.send({ cmd: 'count' });
    const c = await loadgen.next<{ received: number; closed: number }>('count', 10_000);
    if (c.received >= expected || nowMs() > deadline) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const cpu1 = cpuSeconds(server.pid);
  const elapsedS = (nowMs() - t0) / 1000;
  loadgen.send({ cmd: 'report' });
  const { report } = await loadgen.next<{ report: LoadgenReport }>('report', 30_000);
  return {
    rate,
    durationMs,
    sent: done.sent,
    expected,
    received: report.received,
    // Until the last delivery: a server that falls behind stretches the run instead of dropping.
    deliveriesPerS: report.received / (Math.max(report.lastAt - startAt, durationMs) / 1000),
    serverCpuUsPerDelivery: report.received > 0 ? ((cpu1 - cpu0) * 1e6) / report.received : NaN,
    serverBusy: (cpu1 - cpu0) / elapsedS,
    loadgenBusy: report.cpuS / elapsedS,
    undelivered: expected - report.received,
    gaps: report.gaps,
    reorders: report.reorders,
    closed: report.closed,
    closeReasons: report.closeReasons,
    sourceMaxLateMs: done.maxLateMs,
    latencyMs: report.latencyMs,
  };
}
