/**
 * The history store in the built gateway (`mgw serve`, dist/) at 100 simulated devices x 20
 * points changing every 1 s poll (2,000 samples/s), side by side with the same gateway with
 * `history.store.enabled: false`:
 * - samples/s written (mgw_history_samples_written_total) and gateway CPU per sample (the
 *   difference of /proc CPU time between the two, divided by the samples written);
 * - bytes written to disk per hour (/proc/PID/io write_bytes, extrapolated from the window);
 * - RSS with the store open;
 * - latency of a 7-day chart query (max_points=1000, two points) on a store prefilled with
 *   7 days of history for every device.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { HistoryStore } from '../../src/historian/store.js';
import { cpuSeconds, rssMiB } from './lib/proc.js';
import { stopProcess } from './lib/spawn.js';
import { startCli } from './footprint.js';

export const HISTORY_DEVICES = 100;
const POINTS = 20;
const DAY = 86_400_000;

export interface HistoryResult {
  store: boolean;
  samplesPerS: number;
  cpuPerS: number;
  writeBytesPerHour: number;
  rssMiB: number;
  query7dMs: number | null;
  query24hRawMs: number | null;
}

const deviceId = (i: number) => `rio_${String(i + 1).padStart(3, '0')}`;
const point = (i: number) => `ai${String(i + 1).padStart(2, '0')}`;

/**
 * Seven days of history for every device, written the way the store writes it (a batch every
 * 5 minutes of store time): the chart's device every 10 s, the others every 10 minutes.
 */
async function prefill(dir: string): Promise<void> {
  const end = Date.now() - 60_000;
  let now = end - 7 * DAY;
  const store = new HistoryStore({ dir, retentionMs: { raw: 7 * DAY + DAY, '1m': 90 * DAY, '1h': 730 * DAY }, maxBytes: 8 << 30, fsync: false, now: () => now, log: pino({ level: 'silent' }) });
  store.open();
  for (let t = now; t < end; t += 10_000) {
    for (let p = 0; p < POINTS; p++) store.add(deviceId(0), point(p), t, 50 + 30 * Math.sin(t / 3_600_000 + p), 0);
    if (t % 600_000 < 10_000) for (let d = 1; d < HISTORY_DEVICES; d++) for (let p = 0; p < POINTS; p++) store.add(deviceId(d), point(p), t, 40 + d + p, 0);
    if (t - now >= 300_000) {
      now = t;
      await store.flush();
    }
  }
  now = end;
  await store.close();
}

function writeBytes(pid: number): number {
  return Number(/^write_bytes: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

async function timedGet(url: string, runs = 5): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`${url}: ${r.status}`);
    ms.push(performance.now() - t);
  }
  return ms.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function historyOnce(opts: { store: boolean; warmupMs: number; windowMs: number }): Promise<HistoryResult> {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-bench-history-'));
  try {
    if (opts.store) await prefill(join(dir, 'history'));
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      stringify({
        server: { host: '127.0.0.1', port: 0 },
        log: { level: 'info' },
        state_dir: dir,
        history: { store: { enabled: opts.store } },
        devices: Array.from({ length: HISTORY_DEVICES }, (_, i) => ({ id: deviceId(i), driver: 'simulator', model: 'io', poll_interval_ms: 1000 })),
      }),
    );
    const { proc, port } = await startCli(config, false);
    try {
      const pid = proc.pid!;
      await settle(opts.warmupMs);
      const samples0 = opts.store ? await metric(port, 'mgw_history_samples_written_total') : 0;
      const cpu0 = cpuSeconds(pid);
      const io0 = writeBytes(pid);
      const t0 = performance.now();
      await settle(opts.windowMs);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = cpuSeconds(pid) - cpu0;
      const io = writeBytes(pid) - io0;
      const samples = opts.store ? (await metric(port, 'mgw_history_samples_written_total')) - samples0 : 0;
      const rss = rssMiB(pid);
      const base = `http://127.0.0.1:${port}/api/v1/devices/${deviceId(0)}/history`;
      return {
        store: opts.store,
        samplesPerS: samples / seconds,
        cpuPerS: cpu / seconds,
        writeBytesPerHour: (io / seconds) * 3600,
        rssMiB: rss,
        query7dMs: opts.store ? await timedGet(`${base}?from=-7d&max_points=1000&points=ai01,ai02`) : null,
        query24hRawMs: opts.store ? await timedGet(`${base}?from=-24h&resolution=raw&points=ai01`) : null,
      };
    } finally {
      await stopProcess(proc, 'SIGKILL');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
