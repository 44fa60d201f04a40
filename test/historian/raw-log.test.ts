import { describe, expect, it } from 'vitest';
import { HEADER_BYTES, encodeBatch, rawAt, readBatch, type RawSample } from '../../src/historian/format.js';
import { PointSlots, RawLog } from '../../src/historian/raw-log.js';

/** The same samples as the Map-of-lists batch the store used to keep. */
function asRecords(rows: [string, string, RawSample][]): Map<string, Map<string, RawSample[]>> {
  const out = new Map<string, Map<string, RawSample[]>>();
  for (const [d, p, s] of rows) {
    if (!out.has(d)) out.set(d, new Map());
    const points = out.get(d)!;
    if (!points.has(p)) points.set(p, []);
    points.get(p)!.push(s);
  }
  return out;
}

/** What a batch holds, device by device and point by point (the order of blocks is free). */
function decoded(batch: Buffer): Record<string, Record<string, RawSample[]>> {
  const out: Record<string, Record<string, RawSample[]>> = {};
  readBatch(batch.subarray(HEADER_BYTES), () => true, (device, point, count, body, base) => {
    const points = (out[device] ??= {});
    for (let i = 0; i < count; i++) (points[point] ??= []).push(rawAt(body, base, i));
  });
  return out;
}

function fill(log: RawLog, n: number, devices = 7, points = 5): [string, string, RawSample][] {
  const rows: [string, string, RawSample][] = [];
  for (let i = 0; i < n; i++) {
    const d = `dev_${(i * 3) % devices}`;
    const p = `p${(i * 7) % points}`;
    const s = { t: 1_700_000_000_000 + i * 13, v: Math.sin(i) * 1e3, q: i % 4 };
    log.add(d, p, s.t, s.v, s.q);
    rows.push([d, p, s]);
  }
  return rows;
}

describe('RawLog', () => {
  it('encodes the batch byte for byte as the records it replaced, past its first arrays', () => {
    const log = new RawLog(new PointSlots());
    const rows = fill(log, 5000);
    expect(log.length).toBe(5000);
    expect(log.encode().equals(encodeBatch('raw', 0, asRecords(rows)))).toBe(true);
    expect(log.span()).toEqual([rows[0]![2].t, rows[4999]![2].t]);
  });

  it("answers a query with one device's points in the order added, and is empty again after clear", () => {
    const log = new RawLog(new PointSlots());
    const rows = fill(log, 300);
    const got: [string, RawSample][] = [];
    log.samples('dev_2', ['p1', 'p3', 'nope'], (p, s) => got.push([p, s]));
    expect(got).toEqual(rows.filter(([d, p]) => d === 'dev_2' && (p === 'p1' || p === 'p3')).map(([, p, s]) => [p, s]));
    log.samples('unknown', ['p1'], () => expect.unreachable());
    log.clear();
    expect(log.length).toBe(0);
    expect(log.span()).toEqual([Infinity, -Infinity]);
    log.samples('dev_2', ['p1'], () => expect.unreachable());
  });

  it('a log reused after a burst holds only the next batch, and two logs share the slots', () => {
    const slots = new PointSlots();
    const a = new RawLog(slots);
    const b = new RawLog(slots);
    fill(a, 20_000);
    a.clear();
    const rows = fill(a, 10, 3, 2);
    const other = fill(b, 4, 2, 9);
    // Blocks come in the order the shared slots first saw their points, not this batch's.
    expect(decoded(a.encode())).toEqual(decoded(encodeBatch('raw', 0, asRecords(rows))));
    expect(decoded(b.encode())).toEqual(decoded(encodeBatch('raw', 0, asRecords(other))));
    expect(Object.keys(decoded(b.encode())['dev_1']!)).toEqual(['p3', 'p7']); // p3 was seen by a first, p7 is new
  });
});

describe('the store while a raw batch is being written', () => {
  it('answers a query from the batch in flight and from what waits behind it, then from disk, each sample once', async () => {
    const { HistoryStore } = await import('../../src/historian/store.js');
    const { silent, tempDir } = await import('./fixtures.js');
    const store = new HistoryStore({ dir: tempDir(), retentionMs: { raw: 1e12, '1m': 1e12, '1h': 1e12 }, maxBytes: 1e12, fsync: false, now: Date.now, log: silent });
    store.open();
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 50; i++) store.add('m1', i % 2 ? 'speed' : 'current', t0 + i, i, 0);
    store.add('m2', 'speed', t0, 999, 0);
    const writing = store.flush(); // encodes and empties the log before its first await
    expect(store.pendingSamples).toBe(0);
    store.add('m1', 'speed', t0 + 100, 100, 2);
    const values = () => store.read('raw', 'm1', ['speed'], t0, t0 + 1000).get('speed')!.raw.map((s) => s.v);
    const want = [...Array.from({ length: 25 }, (_, k) => 2 * k + 1), 100];
    expect(values()).toEqual(want);
    await writing;
    expect(values()).toEqual(want);
    await store.flush();
    expect(values()).toEqual(want);
    await store.close();
  });
});
