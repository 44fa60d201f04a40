/**
 * The open segment's checkpoint: a restart reads only what was appended after it, and gets
 * exactly what a scan of the whole segment gets; a checkpoint that does not fit its segment is
 * ignored with a warning; rotation leaves none behind.
 */
import { describe, expect, test } from 'vitest';
import { appendFileSync, cpSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { crc32 } from '../../src/historian/crc32.js';
import { encodeBatch, type RawSample } from '../../src/historian/format.js';
import { HistoryStore, TIERS } from '../../src/historian/store.js';
import { silent, tempDir } from './fixtures.js';

const START = Date.UTC(2026, 0, 5, 22, 17, 3);
const DEVICES = Array.from({ length: 10 }, (_, i) => `dev_${i}`);
const POINTS = Array.from({ length: 20 }, (_, i) => `p${i}`);
const CHECKPOINT_BYTES = 256 * 1024;

class Clock {
  t = START;
  readonly now = () => this.t;
}

function openStore(dir: string, clock: Clock, log = silent): HistoryStore {
  const store = new HistoryStore({ dir, retentionMs: { raw: 1e12, '1m': 1e12, '1h': 1e12 }, maxBytes: 1e12, fsync: false, now: clock.now, log, checkpointBytes: CHECKPOINT_BYTES });
  store.open();
  return store;
}

/** Every device and point once a second, a batch every five seconds. */
async function fill(store: HistoryStore, clock: Clock, seconds: number): Promise<void> {
  for (let s = 0; s < seconds; s++) {
    DEVICES.forEach((d, i) => POINTS.forEach((p, j) => store.add(d, p, clock.t, Math.sin(clock.t / 7000 + i) * 100 + j, (clock.t / 1000) % 97 === 0 ? 1 : 0)));
    clock.t += 1000;
    if (s % 5 === 4) await store.flush();
  }
  await store.flush();
}

/** What every query of every device answers, per tier, plus each tier's reach. */
function everything(store: HistoryStore): unknown {
  return TIERS.map((tier) => ({
    tier,
    oldest: store.oldest(tier),
    records: DEVICES.map((d) => [...store.read(tier, d, POINTS, 0, Number.MAX_SAFE_INTEGER)].map(([p, r]) => [p, r.raw, r.agg])),
  }));
}

/** The raw samples the test added, as the store should answer them. */
function added(from: number, to: number): RawSample[] {
  const out: RawSample[] = [];
  for (let t = from; t < to; t += 1000) out.push({ t, v: Math.sin(t / 7000 + 3) * 100 + 4, q: (t / 1000) % 97 === 0 ? 1 : 0 });
  return out;
}

const rawDir = (dir: string) => join(dir, 'raw');
const openFile = (dir: string) => join(rawDir(dir), readdirSync(rawDir(dir)).find((n) => n.endsWith('.open'))!);
const checkpoints = (dir: string) => readdirSync(rawDir(dir)).filter((n) => n.endsWith('.ckpt'));

function capture(): { log: pino.Logger; lines: () => { msg: string; problem?: string; level: number }[] } {
  const out: string[] = [];
  const log = pino({ level: 'warn' }, { write: (s: string) => void out.push(s) });
  return { log, lines: () => out.map((s) => JSON.parse(s) as { msg: string; problem?: string; level: number }) };
}

/** Half an hour of batches with checkpoints along the way, then more, then a kill that tore the last write. */
async function crashedStore(): Promise<{ dir: string; clock: Clock; tornBytes: number; wholeBytes: number }> {
  const dir = tempDir();
  const clock = new Clock();
  const store = openStore(dir, clock);
  await fill(store, clock, 30 * 60);
  expect(checkpoints(dir)).toEqual(['00000001.ckpt']);
  // Past the last checkpoint, less than another's worth: what a restart must still scan.
  await fill(store, clock, 30);
  // The files as a kill leaves them (no close, no last checkpoint), the last batch half written.
  const crashed = tempDir();
  cpSync(dir, crashed, { recursive: true });
  await store.close();
  const torn = encodeBatch('raw', 0, new Map([['dev_3', new Map([['p4', [{ t: clock.t, v: 1, q: 0 }]]])]]));
  const wholeBytes = statSync(openFile(crashed)).size;
  appendFileSync(openFile(crashed), torn.subarray(0, torn.length - 5));
  return { dir: crashed, clock, tornBytes: torn.length - 5, wholeBytes };
}

describe('open segment checkpoint', () => {
  test('after a crash, recovery reads only what follows the checkpoint and answers exactly what a full scan answers', async () => {
    const { dir, clock, tornBytes, wholeBytes } = await crashedStore();
    // The same files without the checkpoint: the full scan every start did before.
    const reference = tempDir();
    cpSync(dir, reference, { recursive: true });
    for (const t of TIERS) for (const n of readdirSync(join(reference, t))) if (n.endsWith('.ckpt')) unlinkSync(join(reference, t, n));

    const fromCheckpoint = openStore(dir, clock);
    const fullScan = openStore(reference, clock);
    expect(fromCheckpoint.counters.recovered_from_checkpoint).toBeGreaterThanOrEqual(1);
    expect(fullScan.counters.recovered_from_checkpoint).toBe(0);
    expect(fromCheckpoint.counters.truncated_bytes_at_start).toBe(tornBytes);
    expect(fullScan.counters.truncated_bytes_at_start).toBe(tornBytes);
    expect(statSync(openFile(dir)).size).toBe(wholeBytes);
    expect(wholeBytes).toBeGreaterThan(16 * CHECKPOINT_BYTES);
    // Only the tail was read: at most a checkpoint's worth, the batches after it and the torn one.
    expect(fromCheckpoint.counters.recovered_scan_bytes).toBeGreaterThan(tornBytes + 100_000);
    expect(fromCheckpoint.counters.recovered_scan_bytes).toBeLessThan(2 * CHECKPOINT_BYTES);
    expect(fromCheckpoint.counters.recovered_scan_bytes).toBeLessThan(wholeBytes / 8);
    expect(fullScan.counters.recovered_scan_bytes).toBeGreaterThanOrEqual(wholeBytes);
    // The open minute and hour buckets were rebuilt from the last minute and hour only.
    expect(fromCheckpoint.counters.rebuild_read_bytes).toBeGreaterThan(0);
    expect(fromCheckpoint.counters.rebuild_read_bytes).toBeLessThan(wholeBytes / 8);

    expect(everything(fromCheckpoint)).toEqual(everything(fullScan));
    expect(fromCheckpoint.read('raw', 'dev_3', ['p4'], 0, clock.t).get('p4')!.raw).toEqual(added(START, clock.t));

    // Writing goes on from there, and a clean close leaves nothing to scan at the next start.
    await fill(fromCheckpoint, clock, 5 * 60);
    await fromCheckpoint.close();
    await fullScan.close();
    const again = openStore(dir, clock);
    expect(again.counters.recovered_scan_bytes).toBe(0);
    expect(again.counters.recovered_from_checkpoint).toBe(3);
    expect(again.read('raw', 'dev_3', ['p4'], 0, clock.t).get('p4')!.raw).toEqual(added(START, clock.t));
    await again.close();
  });

  const spoilers: [string, (dir: string) => void, RegExp][] = [
    [
      'a flipped byte',
      (dir) => {
        const file = join(rawDir(dir), '00000001.ckpt');
        const buf = readFileSync(file);
        buf[buf.length >> 1] ^= 0x40;
        writeFileSync(file, buf);
      },
      /checksum/,
    ],
    [
      'a checkpoint cut short',
      (dir) => {
        const file = join(rawDir(dir), '00000001.ckpt');
        writeFileSync(file, readFileSync(file).subarray(0, 30));
      },
      /shorter than a checkpoint/,
    ],
    [
      "another segment's checkpoint",
      (dir) => {
        // Sound in itself (its CRC is right) but written for segment 7.
        const file = join(rawDir(dir), '00000001.ckpt');
        const buf = readFileSync(file);
        buf.writeUInt32LE(7, 8);
        buf.writeUInt32LE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
        writeFileSync(file, buf);
      },
      /segment 7, not 1/,
    ],
    [
      'a segment shorter than its checkpoint',
      (dir) => {
        // A segment restored from an older copy: its checkpoint vouches for bytes it lacks.
        truncateSync(openFile(dir), 100_000);
      },
      /covers \d+ bytes, the segment has/,
    ],
    [
      'a checkpoint whose last batch is not where it says',
      (dir) => {
        const file = join(rawDir(dir), '00000001.ckpt');
        const buf = readFileSync(file);
        // The last batch offset of the table moved by one byte, CRC made right again.
        const n = buf.readUInt32LE(40);
        const at = 44 + (n - 1) * 20;
        buf.writeUInt32LE(buf.readUInt32LE(at) + 1, at);
        buf.writeUInt32LE(crc32(buf.subarray(0, buf.length - 4)), buf.length - 4);
        writeFileSync(file, buf);
      },
      /last batch is not in the segment/,
    ],
  ];

  test.each(spoilers)('%s: the checkpoint is ignored with a warning and the full scan gives the right answers', async (_name, spoil, problem) => {
    const { dir, clock } = await crashedStore();
    const reference = tempDir();
    cpSync(dir, reference, { recursive: true });
    spoil(dir);
    spoil(reference);
    unlinkSync(join(rawDir(reference), '00000001.ckpt'));
    const { log, lines } = capture();
    const store = openStore(dir, clock, log);
    const fullScan = openStore(reference, clock);
    const warned = lines().filter((l) => l.msg.includes('checkpoint of the open segment ignored'));
    expect(warned).toHaveLength(1);
    expect(warned[0]!.problem).toMatch(problem);
    expect(lines().filter((l) => l.level >= 50)).toEqual([]);
    // The minute tier's checkpoint is sound and used in both; the raw tier is scanned whole.
    expect(store.counters.recovered_from_checkpoint).toBe(fullScan.counters.recovered_from_checkpoint);
    expect(store.counters.recovered_scan_bytes).toBeGreaterThanOrEqual(statSync(openFile(dir)).size);
    expect(store.counters.recovered_scan_bytes).toBe(fullScan.counters.recovered_scan_bytes);
    // The bad checkpoint is gone; the next one is written from the scanned state.
    expect(checkpoints(dir)).toEqual([]);
    expect(everything(store)).toEqual(everything(fullScan));
    const size = statSync(openFile(dir)).size;
    if (size > 1_000_000) expect(store.read('raw', 'dev_3', ['p4'], 0, clock.t).get('p4')!.raw).toEqual(added(START, clock.t));
    await fill(store, clock, 5 * 60);
    expect(checkpoints(dir)).toEqual(['00000001.ckpt']);
    await store.close();
    await fullScan.close();
    const again = openStore(dir, clock, log);
    expect(again.counters.recovered_from_checkpoint).toBe(3);
    expect(lines().filter((l) => l.msg.includes('checkpoint'))).toHaveLength(1);
    await again.close();
  });

  test('rotation removes the closed segment\'s checkpoint, and a stale one left by a crash is never applied to the next segment', async () => {
    const dir = tempDir();
    const clock = new Clock();
    const store = openStore(dir, clock);
    await fill(store, clock, 30 * 60);
    expect(checkpoints(dir)).toEqual(['00000001.ckpt']);
    const stale = readFileSync(join(rawDir(dir), '00000001.ckpt'));
    // Past the hour the raw segment is closed: it has its .idx, its checkpoint goes.
    await fill(store, clock, 31 * 60);
    const names = readdirSync(rawDir(dir));
    expect(names.filter((n) => n.endsWith('.seg'))).toHaveLength(1);
    expect(names.filter((n) => n.endsWith('.idx'))).toHaveLength(1);
    expect(names.filter((n) => n.endsWith('.open'))).toEqual(['00000002.open']);
    expect(checkpoints(dir).every((n) => n === '00000002.ckpt')).toBe(true);
    expect(store.bytes).toBe(TIERS.flatMap((t) => readdirSync(join(dir, t)).map((n) => statSync(join(dir, t, n)).size)).reduce((a, b) => a + b, 0));

    // A crash between the rename and the checkpoint's removal: the old one is still there.
    writeFileSync(join(rawDir(dir), '00000001.ckpt'), stale);
    // And one that claims to be the new segment's while it holds the old one's state.
    const claimed = Buffer.from(stale);
    claimed.writeUInt32LE(2, 8);
    claimed.writeUInt32LE(crc32(claimed.subarray(0, claimed.length - 4)), claimed.length - 4);
    writeFileSync(join(rawDir(dir), '00000002.ckpt'), claimed);
    const { log, lines } = capture();
    const reopened = openStore(dir, clock, log);
    expect(checkpoints(dir)).toEqual([]);
    // The open segments are scanned whole (the raw one's checkpoint was bad), the closed raw segment not at all.
    const openBytes = TIERS.flatMap((t) => readdirSync(join(dir, t)).filter((n) => n.endsWith('.open')).map((n) => statSync(join(dir, t, n)).size)).reduce((a, b) => a + b, 0);
    const closedRaw = readdirSync(rawDir(dir)).find((n) => n.endsWith('.seg'))!;
    expect(reopened.counters.recovered_scan_bytes).toBeLessThanOrEqual(openBytes);
    expect(statSync(join(rawDir(dir), closedRaw)).size).toBeGreaterThan(openBytes);
    expect(lines().map((l) => l.problem)).toEqual([expect.stringMatching(/last batch is not in the segment|covers \d+ bytes/)]);
    expect(reopened.read('raw', 'dev_3', ['p4'], 0, clock.t).get('p4')!.raw).toEqual(added(START, clock.t));
    await reopened.close();
    expect(checkpoints(dir)).toEqual(['00000002.ckpt']);
    expect(existsSync(join(rawDir(dir), '00000001.ckpt'))).toBe(false);
  });
  test('a start just after a rotation reads only the closed segment\'s last batches to rebuild the open minute, by the batch table in its .idx', async () => {
    const dir = tempDir();
    const clock = new Clock();
    const store = openStore(dir, clock);
    // The raw segment spans an hour: the flush after it is the first of the next segment, in the same minute.
    await fill(store, clock, 60 * 60 + 5);
    const seg = readdirSync(rawDir(dir)).find((n) => n.endsWith('.seg'))!;
    const segBytes = statSync(join(rawDir(dir), seg)).size;
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    await store.close();

    // Without the table (an .idx written before it had one): the closed segment is walked whole.
    const oldFormat = tempDir();
    cpSync(crashed, oldFormat, { recursive: true });
    const idxFile = join(rawDir(oldFormat), seg.replace(/\.seg$/, '.idx'));
    const idx = readFileSync(idxFile);
    let o = 8;
    for (let d = idx.readUInt32LE(4); d > 0; d--) {
      o += 1 + idx[o]!;
      o += 4 + idx.readUInt32LE(o) * 8;
    }
    expect(o).toBeLessThan(idx.length - 4);
    const stripped = Buffer.concat([idx.subarray(0, o), Buffer.alloc(4)]);
    stripped.writeUInt32LE(crc32(stripped.subarray(0, o)), o);
    writeFileSync(idxFile, stripped);

    const withTable = openStore(crashed, clock);
    const withoutTable = openStore(oldFormat, clock);
    expect(withTable.counters.rebuild_read_bytes).toBeGreaterThan(0);
    expect(withTable.counters.rebuild_read_bytes).toBeLessThan(segBytes / 8);
    expect(withoutTable.counters.rebuild_read_bytes).toBeGreaterThanOrEqual(segBytes);
    expect(everything(withTable)).toEqual(everything(withoutTable));
    expect(withTable.read('raw', 'dev_3', ['p4'], 0, clock.t).get('p4')!.raw).toEqual(added(START, clock.t));
    await withTable.close();
    await withoutTable.close();
  });
});
