/**
 * A tier's segment index: each device's (offset, length) pairs grow batch by batch in the open
 * segment, are saved in its checkpoints and in the `.idx` of a closed one, and a query of one
 * device reads exactly its blocks from any of them.
 */
import { describe, expect, test } from 'vitest';
import { appendFileSync, cpSync, existsSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../../src/historian/crc32.js';
import { encodeBatch, rawAt, type RawSample } from '../../src/historian/format.js';
import { TierFiles } from '../../src/historian/segments.js';
import { tempDir } from './fixtures.js';

const START = Date.UTC(2026, 0, 5, 22, 17, 3);
const STEP = 5000;
/** dev_0 is in every batch, dev_k in every (k+1)-th, `once` in a single one: each device's pairs differ in count and place. */
const DEVICES = ['dev_0', 'dev_1', 'dev_2', 'dev_3', 'dev_4', 'dev_5', 'once'];
const ONCE_AT = 137;
const POINTS = ['p0', 'p1', 'p2'];

interface Sample extends RawSample {
  p: string;
}

const inBatch = (device: string, b: number): boolean => (device === 'once' ? b === ONCE_AT : b % (Number(device.slice(4)) + 1) === 0);

/** Batch `b`'s records: a device's points get 1 to 3 samples, so its blocks differ in length. */
function records(b: number): Map<string, Map<string, RawSample[]>> {
  const out = new Map<string, Map<string, RawSample[]>>();
  DEVICES.forEach((d, i) => {
    if (!inBatch(d, b)) return;
    const points = new Map<string, RawSample[]>();
    POINTS.forEach((p, j) => points.set(p, Array.from({ length: 1 + ((b + i + j) % 3) }, (_, k) => ({ t: START + b * STEP + k, v: b * 1000 + i * 10 + j + k / 8, q: (b + k) % 4 }))));
    out.set(d, points);
  });
  return out;
}

/** What a query of `device` should answer after batches [0, batches). */
function expected(device: string, batches: number): Sample[] {
  const out: Sample[] = [];
  for (let b = 0; b < batches; b++) for (const [p, list] of records(b).get(device) ?? []) for (const r of list) out.push({ p, ...r });
  return out;
}

function tier(dir: string): TierFiles {
  return new TierFiles({ dir, spanMs: 24 * 3_600_000, maxBytes: 64 * 1024 * 1024, fsync: false, kind: 'raw', checkpointBytes: 16 * 1024 });
}

async function appendBatches(files: TierFiles, from: number, to: number): Promise<void> {
  for (let b = from; b < to; b++) await files.append(encodeBatch('raw', 0, records(b)), START + b * STEP, START + b * STEP + 2, START + b * STEP);
}

function query(files: TierFiles, device: string): Sample[] {
  const out: Sample[] = [];
  files.read(device, 0, Number.MAX_SAFE_INTEGER, (d, p, count, body, base) => {
    expect(d).toBe(device);
    for (let i = 0; i < count; i++) out.push({ p, ...rawAt(body, base, i) });
  });
  return out;
}

/** Every device's query answers exactly its samples of batches [0, batches). */
function expectAll(files: TierFiles, batches: number): void {
  for (const d of DEVICES) expect(query(files, d), d).toEqual(expected(d, batches));
}

/** The pairs of a `.idx`, by its layout: u32 magic | u32 devices | per device: u8 name length, name, u32 pairs, pairs | batch table | u32 crc32. */
function idxPairs(file: string): Map<string, number[]> {
  const buf = readFileSync(file);
  expect(buf.readUInt32LE(0)).toBe(0x4957474d);
  expect(buf.readUInt32LE(buf.length - 4)).toBe(crc32(buf.subarray(0, buf.length - 4)));
  const out = new Map<string, number[]>();
  let o = 8;
  for (let d = buf.readUInt32LE(4); d > 0; d--) {
    const device = buf.toString('utf8', o + 1, o + 1 + buf[o]!);
    o += 1 + buf[o]!;
    const count = buf.readUInt32LE(o);
    o += 4;
    out.set(device, Array.from({ length: count * 2 }, (_, i) => buf.readUInt32LE(o + i * 4)));
    o += count * 8;
  }
  // Then the batch table (u32 batches, 20 bytes each), absent from an index rebuilt by a scan.
  if (o !== buf.length - 4) expect(o + 4 + buf.readUInt32LE(o) * 20 + 4).toBe(buf.length);
  return out;
}

const BATCHES = 400;

describe('segment index', () => {
  test('many batches of devices in and out of them: every query reads exactly its blocks, open, after a crash or a restart, closed and rebuilt', async () => {
    const dir = tempDir();
    const files = tier(dir);
    files.recover(START);
    // dev_0's pairs outgrow their first array six times.
    await appendBatches(files, 0, BATCHES);
    expectAll(files, BATCHES);
    expect(readdirSync(dir).filter((n) => n.endsWith('.ckpt'))).toEqual(['00000001.ckpt']);

    // A kill now: the checkpoint covers a prefix, a torn batch follows the whole ones.
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    const torn = encodeBatch('raw', 0, records(BATCHES));
    appendFileSync(join(crashed, '00000001.open'), torn.subarray(0, torn.length - 3));
    const afterCrash = tier(crashed);
    const r = afterCrash.recover(START + BATCHES * STEP);
    expect(r.checkpointsUsed).toBe(1);
    expect(r.truncatedBytes).toBe(torn.length - 3);
    expect(r.scannedBytes).toBeGreaterThan(torn.length);
    expectAll(afterCrash, BATCHES);
    // Its pairs came from the checkpoint at their exact size and grow again.
    await appendBatches(afterCrash, BATCHES, BATCHES + 50);
    expectAll(afterCrash, BATCHES + 50);
    await afterCrash.close();

    // A clean close and a restart: everything from the checkpoint, nothing scanned.
    await files.close();
    const reopened = tier(dir);
    expect(reopened.recover(START + BATCHES * STEP)).toMatchObject({ checkpointsUsed: 1, scannedBytes: 0, truncatedBytes: 0 });
    expectAll(reopened, BATCHES);
    await appendBatches(reopened, BATCHES, BATCHES + 100);
    expectAll(reopened, BATCHES + 100);

    // Closed: its index cached, and in the .idx with one pair per block of the device.
    await reopened.rotate();
    expectAll(reopened, BATCHES + 100);
    const seg = readdirSync(dir).find((n) => n.endsWith('.seg'))!;
    const idx = join(dir, seg.replace(/\.seg$/, '.idx'));
    const segBytes = readFileSync(join(dir, seg));
    const pairs = idxPairs(idx);
    expect([...pairs.keys()].sort()).toEqual([...DEVICES].sort());
    for (const [device, list] of pairs) {
      let blocks = 0;
      for (let b = 0; b < BATCHES + 100; b++) if (inBatch(device, b)) blocks++;
      expect(list.length, device).toBe(blocks * 2);
      // Each block follows its device's name and its own length, as a batch lays them out.
      for (let i = 0; i < list.length; i += 2) {
        const [off, len] = [list[i]!, list[i + 1]!];
        expect(segBytes.readUInt32LE(off - 4)).toBe(len);
        expect(segBytes.toString('utf8', off - 4 - device.length, off - 4)).toBe(device);
      }
    }
    // A new open segment after it: queries span both.
    await appendBatches(reopened, BATCHES + 100, BATCHES + 120);
    expectAll(reopened, BATCHES + 120);
    await reopened.close();

    // A restart reads the closed index from its .idx.
    const fromIdx = tier(dir);
    fromIdx.recover(START + (BATCHES + 120) * STEP);
    expectAll(fromIdx, BATCHES + 120);
    await fromIdx.close();

    // Without its .idx, the closed segment is scanned once and the .idx written again, the same.
    const before = readFileSync(idx);
    unlinkSync(idx);
    const rebuilt = tier(dir);
    rebuilt.recover(START + (BATCHES + 120) * STEP);
    expectAll(rebuilt, BATCHES + 120);
    expect(existsSync(idx)).toBe(true);
    expect(idxPairs(idx)).toEqual(pairs);
    // Rebuilt by a scan it has no batch table; the pairs are the same bytes.
    expect(readFileSync(idx).subarray(0, before.length - 4 - (4 + (BATCHES + 100) * 20))).toEqual(before.subarray(0, before.length - 4 - (4 + (BATCHES + 100) * 20)));
    await rebuilt.close();
    const again = tier(dir);
    again.recover(START + (BATCHES + 120) * STEP);
    expectAll(again, BATCHES + 120);
    await again.close();
  });
});
