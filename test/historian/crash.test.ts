/**
 * kill -9 of a real `mgw serve` while it writes history batches several times a second: the
 * store opens again, every batch that was whole before the kill is there, and at most the batch
 * being written is lost.
 */
import { afterEach, expect, test } from 'vitest';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, stopChild, type Child } from '../client/processes.js';
import { until } from '../cli/helpers.js';
import { HEADER_BYTES, readBatch, validBatchAt, type RawSample } from '../../src/historian/format.js';
import { HistoryStore } from '../../src/historian/store.js';
import { silent, tempDir } from './fixtures.js';

let child: Child | undefined;
afterEach(async () => stopChild(child));

/** Samples per device.point in the whole batches of a raw segment's bytes, and where they end. */
function wholeBatches(buf: Buffer): { counts: Map<string, number>; end: number; largest: number } {
  const counts = new Map<string, number>();
  let o = 0;
  let largest = 0;
  for (;;) {
    const len = validBatchAt(buf, o);
    if (len === 0) break;
    largest = Math.max(largest, len);
    readBatch(buf.subarray(o + HEADER_BYTES, o + len), () => true, (d, p, n) => counts.set(`${d}.${p}`, (counts.get(`${d}.${p}`) ?? 0) + n));
    o += len;
  }
  return { counts, end: o, largest };
}

const openSegment = (dir: string) => {
  const name = readdirSync(join(dir, 'history', 'raw')).find((n) => n.endsWith('.open'));
  return name === undefined ? undefined : join(dir, 'history', 'raw', name);
};

test('kill -9 during history writes: the store opens, every whole batch before the kill is there, at most the last is lost', async () => {
  const dir = tempDir();
  const config = join(dir, 'gateway.yaml');
  const devices = Array.from({ length: 20 }, (_, i) => `  - {id: io_${i}, driver: simulator, model: io, poll_interval_ms: 20}`);
  writeFileSync(config, ['server: {port: 0}', `state_dir: ${dir}`, 'history:', '  store: {flush_s: 1, flush_samples: 4000}', 'devices:', ...devices, ''].join('\n'));
  child = runCli(['serve', '--config', config]);
  await until(() => child!.stdout.includes('"msg":"gateway ready"'), 'gateway ready', 20_000);
  await until(() => (openSegment(dir) !== undefined ? statSync(openSegment(dir)!).size > 400_000 : false), 'some batches on disk', 20_000);
  const file = openSegment(dir)!;
  const before = readFileSync(file);
  // Kill as the next batch starts to land: it may be half written.
  await until(() => statSync(file).size > before.length, 'the next batch', 10_000);
  child.proc.kill('SIGKILL');
  await child.exited;
  const atKill = readFileSync(file);
  const whole = wholeBatches(before);
  const all = wholeBatches(atKill);
  expect(whole.counts.size).toBe(20 * 20);

  const store = new HistoryStore({ dir: join(dir, 'history'), retentionMs: { raw: 1e12, '1m': 1e12, '1h': 1e12 }, maxBytes: 1e12, fsync: false, now: Date.now, log: silent });
  store.open();
  expect(store.counters.truncated_bytes_at_start).toBe(atKill.length - all.end);
  expect(atKill.length - all.end).toBeLessThan(all.largest + HEADER_BYTES + 1);
  expect(statSync(file).size).toBe(all.end);
  for (let i = 0; i < 20; i++) {
    const got = store.read('raw', `io_${i}`, ['ai01', 'ai20'], 0, Date.now() + 1);
    for (const p of ['ai01', 'ai20']) {
      const n = got.get(p)!.raw.length;
      expect(n).toBeGreaterThanOrEqual(whole.counts.get(`io_${i}.${p}`)!);
      expect(n).toBe(all.counts.get(`io_${i}.${p}`)!);
      const t = got.get(p)!.raw.map((s: RawSample) => s.t);
      expect(t).toEqual([...t].sort((a, b) => a - b));
    }
  }
  await store.close();

  // And the gateway itself starts on those files.
  child = runCli(['serve', '--config', config]);
  await until(() => child!.stdout.includes('"msg":"gateway ready"'), 'gateway ready after the kill', 20_000);
  expect(child.stdout).toContain('"msg":"history store open"');
  expect(child.stdout).not.toMatch(/"level":(50|60)/);
});
