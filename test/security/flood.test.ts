/**
 * A flood from one client must not hold up the others. A separate process floods the
 * WebSocket while three observers receive a stream of control writes; every write must reach
 * every observer, in order. Delivery latency is measured and printed (for the release notes);
 * it is not asserted, since the machine's load decides it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TestClient, postJson } from '../helpers/gateway.js';
import { startSecured, type SecuredGateway } from './fixtures.js';

const FLOODER = fileURLToPath(new URL('./flooder.mjs', import.meta.url));
const WRITES = 40;
const running: SecuredGateway[] = [];
const children: ChildProcess[] = [];
const clients: TestClient[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGTERM');
  for (const c of clients.splice(0)) c.close();
  for (const g of running.splice(0)) await g.cleanup();
});

interface FloodReport {
  open?: boolean;
  closed?: number;
  done?: boolean;
  sent?: number;
  received?: number;
}

/** Starts the flooder and resolves once it is connected; `end` resolves with its last report. */
async function flood(url: string, count: number, message: string): Promise<{ end: Promise<FloodReport> }> {
  const child = spawn(process.execPath, [FLOODER, url, String(count), message], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  let last: FloodReport = {};
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const end = new Promise<FloodReport>((resolve) => {
    lines.on('line', (l) => {
      last = JSON.parse(l) as FloodReport;
      if (last.open) opened();
      if (last.closed !== undefined) resolve(last);
    });
    child.on('exit', () => resolve(last));
  });
  await open;
  return { end };
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Sends WRITES control writes one after another; returns each observer's delivery latencies (ms). */
async function measure(gw: SecuredGateway, observers: TestClient[], base: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const speed = base + i;
    const froms = observers.map((o) => o.messages.length);
    const t0 = performance.now();
    const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed });
    expect(res.status).toBe(200);
    await Promise.all(
      observers.map(async (o, k) => {
        await o.next((m) => m['type'] === 'device_update' && m['device_id'] === 'motor_01' && m['data'].new_state.speed === speed, 10_000, froms[k]);
        latencies.push(performance.now() - t0);
      }),
    );
  }
  // In order and without gaps: the motor_01 control updates each observer saw are exactly the writes.
  for (const o of observers) {
    const seen = o.messages.filter((m) => m['type'] === 'device_update' && m['data'].action === 'device_control' && m['data'].new_state.speed >= base && m['data'].new_state.speed < base + WRITES);
    expect(seen.map((m) => m['data'].new_state.speed)).toEqual(Array.from({ length: WRITES }, (_, i) => base + i));
  }
  return latencies;
}

const summary = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;

describe('a flooding client', () => {
  it('with the default limits is cut off, and the others get every update', async () => {
    const gw = await startSecured({ limits: { rest_writes_per_s: 1000, rest_write_burst: 1000 } });
    running.push(gw);
    const observers = await Promise.all([0, 1, 2].map(() => TestClient.connect(gw.wsUrl)));
    clients.push(...observers);
    await measure(gw, observers, 500); // warm-up: first writes pay for JIT and lazy setup
    const baseline = await measure(gw, observers, 1000);
    const inBefore = gw.gateway.server.stats.messagesIn;
    const { end } = await flood(gw.wsUrl, 200_000, JSON.stringify({ action: 'get_all_status' }));
    const during = await measure(gw, observers, 2000);
    const report = await end;
    expect(report.closed).toBe(1008);
    const handled = gw.gateway.server.stats.messagesIn - inBefore;
    console.log(
      `flood, default limits: flooder sent ${report.sent} messages, got ${report.received} answers, closed with ${report.closed}; server took ${handled} messages off the wire.\n` +
        `  observer delivery without flood: ${summary(baseline)}\n  observer delivery during flood: ${summary(during)}`,
    );
  }, 120_000);

  it('without a rate limit still does not stop the others from getting every update', async () => {
    const gw = await startSecured({ limits: { ws_messages_per_s: 1_000_000, ws_message_burst: 1_000_000, rest_writes_per_s: 1000, rest_write_burst: 1000 }, server: { max_backpressure_bytes: 1_048_576 } });
    running.push(gw);
    const observers = await Promise.all([0, 1, 2].map(() => TestClient.connect(gw.wsUrl)));
    clients.push(...observers);
    await measure(gw, observers, 500); // warm-up: first writes pay for JIT and lazy setup
    const baseline = await measure(gw, observers, 1000);
    const { end } = await flood(gw.wsUrl, 20_000, JSON.stringify({ action: 'get_all_status' }));
    const during = await measure(gw, observers, 2000);
    const report = await end;
    console.log(
      `flood, no rate limit: flooder sent ${report.sent}, got ${report.received} answers, ended with ${report.closed}.\n` +
        `  observer delivery without flood: ${summary(baseline)}\n  observer delivery during flood: ${summary(during)}`,
    );
  }, 120_000);
});
