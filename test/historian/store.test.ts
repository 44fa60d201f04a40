import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { appendFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Plant, storeConfig, tempDir, type Kept } from './fixtures.js';
import { encodeBatch, type Aggregate, type RawSample } from '../../src/historian/format.js';
import { bucketStart, emptyBucket, mergeBucket } from '../../src/historian/buckets.js';
import { runStoreQuery } from '../../src/historian/query.js';
import { MOTOR_POINTS } from '../../drivers/simulator/models.js';

const START = Date.UTC(2026, 0, 5, 22, 17, 3);
const MIN = 60_000;
const HOUR = 3_600_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'], now: START });
});
afterEach(() => {
  vi.useRealTimers();
});

/** min/max/mean/count of the good samples per bucket, computed from what the test kept. */
function expectedBuckets(samples: Kept[], size: number, before: number): Map<number, { min: number; max: number; mean: number; count: number; q: number }> {
  const out = new Map<number, { min: number; max: number; sum: number; count: number; q: number; mean: number }>();
  for (const s of samples) {
    if (s.t >= before) continue;
    const k = bucketStart(s.t, size);
    let b = out.get(k);
    if (b === undefined) out.set(k, (b = { min: Infinity, max: -Infinity, sum: 0, count: 0, q: 0, mean: 0 }));
    if (s.q !== 0) {
      b.q = s.q;
      continue;
    }
    b.min = Math.min(b.min, s.v);
    b.max = Math.max(b.max, s.v);
    b.sum += s.v;
    b.count++;
  }
  for (const b of out.values()) b.mean = b.count > 0 ? b.sum / b.count : Number.NaN;
  return out;
}

/** Records of one bucket merged (a late sample may give a bucket a second record). */
function merged(list: Aggregate[]): Map<number, Aggregate> {
  const out = new Map<number, Aggregate>();
  for (const a of list) {
    let b = out.get(a.t);
    if (b === undefined) out.set(a.t, (b = emptyBucket(a.t)));
    mergeBucket(b, a);
  }
  return out;
}

function checkTier(plant: Plant, tier: '1m' | '1h', size: number, from: number, to: number): number {
  let checked = 0;
  for (const [device, points] of plant.kept) {
    const got = plant.historian.store.read(tier, device, [...points.keys()], from, to);
    for (const [point, samples] of points) {
      const want = expectedBuckets(samples.filter((s) => s.t >= from), size, to);
      const have = merged(got.get(point)!.agg);
      for (const [t, w] of want) {
        if (t < bucketStart(from, size) || t + size > to) continue;
        const h = have.get(t);
        expect(h, `${device}.${point} ${tier} bucket ${new Date(t).toISOString()}`).toBeDefined();
        expect(h!.count).toBe(w.count);
        if (w.count > 0) {
          expect(h!.min).toBe(w.min);
          expect(h!.max).toBe(w.max);
          expect(h!.sum / h!.count).toBeCloseTo(w.mean, 9);
        }
        checked++;
      }
    }
  }
  return checked;
}

describe('history store on a simulated clock', () => {
  test('three simulated hours fill the raw, minute and hour tiers with the min, max and mean of the raw samples; a restart keeps them and rebuilds the open buckets', async () => {
    const plant = new Plant(tempDir(), storeConfig());
    await plant.historian.start();
    await plant.driver.start();
    await plant.run(3 * HOUR);
    const store = plant.historian.store;
    const now = Date.now();
    for (const tier of ['raw', '1m', '1h'] as const) expect(store.oldest(tier), tier).not.toBeNull();
    expect(store.oldest('1h')!).toBe(bucketStart(START, HOUR));

    // Raw: the last ten minutes, sample for sample.
    const current = store.read('raw', 'motor_01', ['current'], now - 10 * MIN, now).get('current')!.raw;
    const keptCurrent = plant.kept.get('motor_01')!.get('current')!.filter((s) => s.t >= now - 10 * MIN);
    expect(current.length).toBeGreaterThan(500);
    expect(current).toEqual(keptCurrent.map((s): RawSample => ({ t: s.t, v: s.v, q: s.q })));

    expect(checkTier(plant, '1m', MIN, START, bucketStart(now, MIN))).toBeGreaterThan(170 * 4);
    expect(checkTier(plant, '1h', HOUR, START, bucketStart(now, HOUR))).toBeGreaterThanOrEqual(3 * 4);

    // A 3-hour chart with max_points=100: 2-minute buckets from the minute tier, each right.
    const answer = runStoreQuery(store, 'motor_01', MOTOR_POINTS, { fromMs: START, toMs: now, points: ['current'], resolution: undefined, maxPoints: 100 }, { maxRows: 1e6, maxRawSpanMs: 1e12 });
    expect(answer.bucket_s).toBe(120);
    const want = expectedBuckets(plant.kept.get('motor_01')!.get('current')!, 120_000, bucketStart(now, 120_000));
    const c = answer.points['current']!;
    expect(c.t.length).toBeGreaterThanOrEqual(90);
    let compared = 0;
    c.t.forEach((t, i) => {
      const w = want.get(t * 1000);
      if (w === undefined || t * 1000 < START + 120_000) return;
      expect(c.n![i]).toBe(w.count);
      expect(c.min![i]).toBe(w.min);
      expect(c.max![i]).toBe(w.max);
      expect(c.v[i]).toBeCloseTo(w.mean, 9);
      compared++;
    });
    expect(compared).toBeGreaterThanOrEqual(85);

    // Restart on the same files, one segment index lost (rebuilt by a scan), then go on across an hour boundary.
    await plant.historian.stop();
    const idx = readdirSync(join(plant.dir, 'raw')).filter((n) => n.endsWith('.idx'));
    expect(idx.length).toBeGreaterThanOrEqual(2);
    unlinkSync(join(plant.dir, 'raw', idx.at(-1)!));
    plant.historian = plant.newHistorian();
    await plant.historian.start();
    expect(plant.historian.store.read('raw', 'motor_01', ['current'], now - 10 * MIN, now).get('current')!.raw).toEqual(current);
    const all = plant.historian.store.read('raw', 'motor_01', ['current'], START, now).get('current')!.raw;
    expect(all.map((s) => s.v)).toEqual(plant.kept.get('motor_01')!.get('current')!.filter((s) => s.t <= now).map((s) => s.v));
    expect(readdirSync(join(plant.dir, 'raw')).filter((n) => n.endsWith('.idx'))).toEqual(idx);
    await plant.run(HOUR);
    const end = Date.now();
    expect(checkTier(plant, '1m', MIN, START, bucketStart(end, MIN))).toBeGreaterThan(230 * 4);
    expect(checkTier(plant, '1h', HOUR, START, bucketStart(end, HOUR))).toBeGreaterThanOrEqual(4 * 4);
    await plant.driver.stop();
    await plant.historian.stop();
  });

  test('stale and bad spans are kept with the last value and left out of min, max and mean', async () => {
    const plant = new Plant(tempDir(), storeConfig(), [{ id: 'sensor_01', driver: 'simulator', model: 'sensor', poll_interval_ms: 1000 }]);
    await plant.historian.start();
    await plant.driver.start();
    await plant.run(2 * MIN);
    await plant.driver.stop();
    const wentStale = Date.now();
    plant.registry.setOnline('sensor_01', false);
    await plant.run(2 * MIN);
    plant.registry.apply('sensor_01', {}, 'poll', { humidity: 'bad' });
    await plant.run(2 * MIN);
    const store = plant.historian.store;
    const raw = store.read('raw', 'sensor_01', ['temperature', 'humidity'], START, Date.now());
    // The last poll and the offline mark share a millisecond: the mark comes second.
    const staleAt = raw.get('temperature')!.raw.filter((s) => s.t === wentStale).at(-1)!;
    expect(staleAt.q).toBe(1);
    expect(staleAt.v).toBe(plant.registry.snapshot('sensor_01')!.state['temperature']);
    expect(raw.get('humidity')!.raw.at(-1)!.q).toBe(2);
    const minutes = merged(store.read('1m', 'sensor_01', ['temperature'], START, Date.now()).get('temperature')!.agg);
    const staleMinute = minutes.get(bucketStart(wentStale, MIN))!;
    expect(staleMinute.q).toBe(1);
    expect(checkTier(plant, '1m', MIN, START, bucketStart(Date.now(), MIN))).toBeGreaterThan(5);
    await plant.historian.stop();
  });

  test('a batch torn by a crash is cut on open; every batch before it is there, and writing goes on', async () => {
    const dir = tempDir();
    const plant = new Plant(dir, storeConfig());
    await plant.historian.start();
    await plant.driver.start();
    await plant.run(10 * MIN);
    const open = readdirSync(join(dir, 'raw')).find((n) => n.endsWith('.open'))!;
    const before = statSync(join(dir, 'raw', open)).size;
    // What a kill -9 in the middle of a write leaves: the first part of a batch.
    const torn = encodeBatch('raw', 0, new Map([['motor_01', new Map([['current', [{ t: Date.now(), v: 99, q: 0 }]]])]]));
    appendFileSync(join(dir, 'raw', open), torn.subarray(0, torn.length - 7));
    plant.historian = plant.newHistorian();
    await plant.historian.start();
    expect(plant.historian.store.counters.truncated_bytes_at_start).toBe(torn.length - 7);
    expect(statSync(join(dir, 'raw', open)).size).toBe(before);
    const got = plant.historian.store.read('raw', 'motor_01', ['current'], START, Date.now()).get('current')!.raw;
    expect(got).toEqual(plant.kept.get('motor_01')!.get('current')!.map((s) => ({ t: s.t, v: s.v, q: s.q })));
    await plant.run(MIN);
    const after = plant.historian.store.read('raw', 'motor_01', ['current'], START, Date.now()).get('current')!.raw;
    expect(after.length).toBe(plant.kept.get('motor_01')!.get('current')!.length);
    await plant.driver.stop();
    await plant.historian.stop();
  });

  test('retention deletes whole raw segments past their age while the minute tier keeps the span', async () => {
    const plant = new Plant(tempDir(), storeConfig({ raw_days: 0 }));
    await plant.historian.start();
    await plant.driver.start();
    await plant.run(3 * HOUR);
    const store = plant.historian.store;
    expect(store.counters.segments_dropped_retention).toBeGreaterThanOrEqual(2);
    expect(store.oldest('raw')!).toBeGreaterThan(Date.now() - HOUR - MIN);
    expect(store.oldest('1m')!).toBeLessThan(START + MIN);
    await plant.driver.stop();
    await plant.historian.stop();
  });

  test('the size cap holds under a flood: 100 devices with 20 points changing on every poll', async () => {
    const dir = tempDir();
    const devices = Array.from({ length: 100 }, (_, i) => ({ id: `io_${i}`, driver: 'simulator', model: 'io', poll_interval_ms: 1000 }));
    const plant = new Plant(dir, storeConfig({ max_mb: 2 }), devices);
    await plant.historian.start();
    await plant.driver.start();
    const cap = 2 * 1024 * 1024;
    let maxSeen = 0;
    for (let i = 0; i < 60; i++) {
      await plant.run(5000);
      const onDisk = ['raw', '1m', '1h'].flatMap((t) => readdirSync(join(dir, t)).map((n) => statSync(join(dir, t, n)).size)).reduce((a, b) => a + b, 0);
      maxSeen = Math.max(maxSeen, onDisk);
      expect(plant.historian.store.bytes).toBe(onDisk);
      expect(onDisk).toBeLessThanOrEqual(cap);
    }
    const store = plant.historian.store;
    expect(store.counters.samples_written).toBeGreaterThan(100 * 20 * 250);
    expect(store.counters.segments_dropped_size_cap).toBeGreaterThan(10);
    expect(maxSeen).toBeGreaterThan(cap / 2);
    // Detail went first: the minute tier still reaches back to the start.
    expect(store.oldest('1m')!).toBeLessThan(START + MIN);
    const now = Date.now();
    expect(store.read('raw', 'io_7', ['ai01'], now - 5000, now).get('ai01')!.raw.length).toBeGreaterThan(0);
    await plant.driver.stop();
    await plant.historian.stop();
  });
});
