/** The store-and-forward files: order across restarts, torn lines, the cursor, the size bound. */
import { appendFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, test } from 'vitest';
import { ForwardStore, storeFiles } from '../../src/northbound/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function store(dir: string, maxBytes = 1 << 20, segmentBytes = 4096): ForwardStore<{ i: number }> {
  return new ForwardStore<{ i: number }>({ dir, maxBytes, segmentBytes, fsyncIntervalMs: 10, log: pino({ level: 'silent' }) });
}

function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'mgw-store-'));
  dirs.push(d);
  return d;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('store-and-forward files', () => {
  test('what is appended survives the process (no close) and comes back in order; forwarded records do not', async () => {
    const dir = tmp();
    const a = store(dir);
    a.open();
    for (let i = 0; i < 500; i++) a.append({ i });
    await tick();
    a.forwarded(a.batch(100).through);
    a.close();
    const b = store(dir);
    expect(b.open()).toBe(400);
    expect(b.peek(3)).toEqual([{ i: 100 }, { i: 101 }, { i: 102 }]);
    // Appended after a restart: after the old ones.
    b.append({ i: 500 });
    await tick();
    expect(b.peek(1000).map((r) => r.i)).toEqual(Array.from({ length: 401 }, (_, k) => k + 100));
  });

  test('without a clean close, records written in an earlier tick are on disk (a kill -9 keeps them)', async () => {
    const dir = tmp();
    const a = store(dir);
    a.open();
    for (let i = 0; i < 50; i++) a.append({ i });
    await tick();
    // no close(): as if the process died here
    const b = store(dir);
    expect(b.open()).toBe(50);
  });

  test('a torn last line (power cut) is cut off and counted; the records before it are kept', async () => {
    const dir = tmp();
    const a = store(dir);
    a.open();
    for (let i = 0; i < 10; i++) a.append({ i });
    a.close();
    const seg = readdirSync(dir).find((f) => f.startsWith('seg-'))!;
    appendFileSync(join(dir, seg), '{"n":11,"r":{"i"');
    writeFileSync(join(dir, 'seg-000000000999.jsonl'), 'not json\n{"n":999,"r":{"i":999}}\n');
    const b = store(dir);
    expect(b.open()).toBe(11);
    expect(b.counters.corrupt_total).toBe(2);
    expect(b.peek(20).map((r) => r.i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 999]);
  });

  test('over the limit the oldest file goes, its records counted as dropped; the files stay under the limit', async () => {
    const dir = tmp();
    const s = store(dir, 65_536, 4096);
    s.open();
    for (let i = 0; i < 5000; i++) {
      s.append({ i });
      if (i % 100 === 0) await tick();
    }
    await tick();
    const bytes = storeFiles(dir).reduce((n, f) => n + f.bytes, 0);
    expect(bytes).toBeLessThanOrEqual(65_536);
    expect(s.counters.dropped_total).toBeGreaterThan(0);
    expect(s.counters.dropped_total + s.length).toBe(5000);
    // The newest survive, in order.
    const kept = s.peek(10_000).map((r) => r.i);
    expect(kept[kept.length - 1]).toBe(4999);
    expect(kept).toEqual(kept.map((_, k) => kept[0]! + k));
    s.close();
    expect(store(dir, 65_536, 4096).open()).toBe(kept.length);
  });

  test('records dropped while a batch is out: marking the batch forwarded takes no record behind it for sent', async () => {
    const dir = tmp();
    const s = store(dir, 65_536, 4096);
    s.open();
    for (let i = 0; i < 2800; i++) s.append({ i });
    await tick();
    // A batch goes to the broker; meanwhile the changes go on and the full store drops its oldest files.
    const batch = s.batch(100);
    const droppedBefore = s.counters.dropped_total;
    for (let i = 2800; i < 3200; i++) s.append({ i });
    const droppedMeanwhile = s.counters.dropped_total - droppedBefore;
    expect(droppedMeanwhile).toBeGreaterThan(0);
    const waiting = s.peek(10_000).map((r) => r.i);
    s.forwarded(batch.through);
    // The records of the batch that were dropped were counted once, as dropped; nothing that
    // waited was marked forwarded.
    expect(s.peek(10_000).map((r) => r.i)).toEqual(waiting.filter((i) => i > batch.records[batch.records.length - 1]!.i));
    expect(s.counters.forwarded_total + s.counters.dropped_total + s.length).toBe(3200);
    expect(s.counters.forwarded_total).toBe(0);
    s.close();
  });

  test('records put back in front (sent, unconfirmed) go before the ones waiting, also after a restart, and count once', async () => {
    const dir = tmp();
    const s = store(dir);
    s.open();
    for (let i = 0; i < 3; i++) s.append({ i });
    await tick();
    s.forwarded(s.batch(3).through);
    // 10..14 overflowed into the store while 5..9 were still in flight; then the connection dropped.
    for (let i = 10; i < 15; i++) s.append({ i });
    s.requeueFront([5, 6, 7, 8, 9].map((i) => ({ i })));
    expect(s.peek(100).map((r) => r.i)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(s.counters.stored_total).toBe(3 + 5 + 5);
    expect(s.counters.queued + s.counters.forwarded_total + s.counters.dropped_total).toBe(s.counters.stored_total);
    // Killed here (no close): the files and the cursor give the same order back.
    const after = store(dir);
    expect(after.open()).toBe(10);
    expect(after.peek(100).map((r) => r.i)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    // With nothing waiting, they are simply stored.
    const empty = store(tmp());
    empty.open();
    empty.requeueFront([{ i: 1 }, { i: 2 }]);
    expect(empty.peek(10).map((r) => r.i)).toEqual([1, 2]);
    expect(empty.counters.stored_total).toBe(2);
    s.close();
  });
});
