/**
 * The on-disk shape of one write batch, the unit the store appends and a power cut may tear.
 *
 *   u32 magic "MGWB" | u32 body length | u32 crc32(body) | body
 *   body: u8 kind (1 raw, 2 aggregate) | f64 closed_to_ms | u16 devices | device blocks
 *   device block: u8 id length | id | u32 block length | u16 points | point blocks
 *   point block:  u8 name length | name | u32 records | records
 *   raw record:        f64 t_ms | f64 value | u8 quality                     (17 bytes)
 *   aggregate record:  f64 bucket_ms | f64 min | f64 max | f64 sum | f64 last | u32 count | u8 quality  (45 bytes)
 *
 * Every batch names its devices and points itself, so a segment file needs no dictionary and a
 * batch that is lost takes nothing else with it. The CRC decides on open whether the last batch
 * was written whole; a torn one is cut off. `closed_to_ms` on aggregate batches is how far the
 * tier's buckets were complete when it was written: on restart, the open buckets are rebuilt
 * from the finer tier from there on (see store.ts).
 */
import { crc32 } from './crc32.js';
import type { Quality } from '../core/points.js';

export const MAGIC = 0x4257474d; // "MGWB" little-endian
export const HEADER_BYTES = 12;
export const RAW_RECORD_BYTES = 17;
export const AGG_RECORD_BYTES = 45;

export type BatchKind = 'raw' | 'agg';

export const QUALITY_CODES: readonly Quality[] = ['good', 'stale', 'bad', 'uncertain'];
export const qualityCode = (q: Quality): number => QUALITY_CODES.indexOf(q);
/** Worse quality wins when samples are merged: bad > stale > uncertain > good. */
const RANK = [0, 2, 3, 1];
export const worseQuality = (a: number, b: number): number => (RANK[b]! > RANK[a]! ? b : a);

export interface RawSample {
  t: number;
  v: number;
  q: number;
}

export interface Aggregate {
  /** Bucket start, ms since the epoch. */
  t: number;
  min: number;
  max: number;
  sum: number;
  last: number;
  /** Good samples in the bucket: min, max, sum and last cover only those. */
  count: number;
  /** Worst quality seen in the bucket. */
  q: number;
}

/** Records of one batch, by device then point, in the order they were added. */
export type BatchRecords<R> = Map<string, Map<string, R[]>>;

/** One point's records in a batch: its name, how many, and how to write them at an offset. */
export interface PointBlock {
  name: string;
  count: number;
  write(buf: Buffer, o: number): void;
}

export function encodeBatch(kind: BatchKind, closedToMs: number, records: BatchRecords<RawSample> | BatchRecords<Aggregate>): Buffer {
  const writeRecord = kind === 'raw' ? writeRaw : writeAgg;
  const size = recordBytes(kind);
  const devices: [string, PointBlock[]][] = [];
  for (const [device, points] of records) {
    const blocks: PointBlock[] = [];
    for (const [name, list] of points as Map<string, (RawSample & Aggregate)[]>) {
      blocks.push({ name, count: list.length, write: (buf, o) => list.forEach((r, i) => writeRecord(buf, o + i * size, r)) });
    }
    devices.push([device, blocks]);
  }
  return encodeBlocks(kind, closedToMs, devices);
}

const recordBytes = (kind: BatchKind): number => (kind === 'raw' ? RAW_RECORD_BYTES : AGG_RECORD_BYTES);

const writeRaw = (buf: Buffer, o: number, r: RawSample): void => writeRawRecord(buf, o, r.t, r.v, r.q);

export function writeRawRecord(buf: Buffer, o: number, t: number, v: number, q: number): void {
  buf.writeDoubleLE(t, o);
  buf.writeDoubleLE(v, o + 8);
  buf.writeUInt8(q, o + 16);
}

function writeAgg(buf: Buffer, o: number, a: Aggregate): void {
  buf.writeDoubleLE(a.t, o);
  buf.writeDoubleLE(a.min, o + 8);
  buf.writeDoubleLE(a.max, o + 16);
  buf.writeDoubleLE(a.sum, o + 24);
  buf.writeDoubleLE(a.last, o + 32);
  buf.writeUInt32LE(a.count, o + 40);
  buf.writeUInt8(a.q, o + 44);
}

/** A batch of the given devices' point blocks, in that order. */
export function encodeBlocks(kind: BatchKind, closedToMs: number, devices: readonly [string, readonly PointBlock[]][]): Buffer {
  const recBytes = recordBytes(kind);
  let size = 1 + 8 + 2;
  for (const [device, points] of devices) {
    size += 1 + Buffer.byteLength(device) + 4 + 2;
    for (const p of points) size += 1 + Buffer.byteLength(p.name) + 4 + p.count * recBytes;
  }
  const buf = Buffer.allocUnsafe(HEADER_BYTES + size);
  let o = HEADER_BYTES;
  buf.writeUInt8(kind === 'raw' ? 1 : 2, o++);
  buf.writeDoubleLE(closedToMs, o);
  o += 8;
  buf.writeUInt16LE(devices.length, o);
  o += 2;
  for (const [device, points] of devices) {
    o = writeName(buf, o, device);
    const lenAt = o;
    o += 4;
    buf.writeUInt16LE(points.length, o);
    o += 2;
    for (const p of points) {
      o = writeName(buf, o, p.name);
      buf.writeUInt32LE(p.count, o);
      o += 4;
      p.write(buf, o);
      o += p.count * recBytes;
    }
    buf.writeUInt32LE(o - lenAt - 4, lenAt);
  }
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(size, 4);
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES)), 8);
  return buf;
}

function writeName(buf: Buffer, o: number, name: string): number {
  const n = buf.write(name, o + 1, 'utf8');
  if (n > 255) throw new RangeError(`name longer than 255 bytes: ${name.slice(0, 40)}`);
  buf.writeUInt8(n, o);
  return o + 1 + n;
}

/** Thrown for bytes that are not a batch: the caller knows which file and offset. */
export class CorruptBatch extends Error {}

/** Checks the header at `o` and returns the batch's total length, or 0 when no whole, valid batch starts there. */
export function validBatchAt(buf: Buffer, o: number): number {
  if (o + HEADER_BYTES > buf.length) return 0;
  if (buf.readUInt32LE(o) !== MAGIC) return 0;
  const len = buf.readUInt32LE(o + 4);
  if (o + HEADER_BYTES + len > buf.length) return 0;
  if (crc32(buf.subarray(o + HEADER_BYTES, o + HEADER_BYTES + len)) !== buf.readUInt32LE(o + 8)) return 0;
  return HEADER_BYTES + len;
}

/** The i-th raw record of a point block that starts at `base` (see readBatch). */
export function rawAt(body: Buffer, base: number, i: number): RawSample {
  const r = base + i * RAW_RECORD_BYTES;
  return { t: body.readDoubleLE(r), v: body.readDoubleLE(r + 8), q: body[r + 16]! };
}

/** The i-th aggregate record of a point block that starts at `base`. */
export function aggAt(body: Buffer, base: number, i: number): Aggregate {
  const r = base + i * AGG_RECORD_BYTES;
  return {
    t: body.readDoubleLE(r),
    min: body.readDoubleLE(r + 8),
    max: body.readDoubleLE(r + 16),
    sum: body.readDoubleLE(r + 24),
    last: body.readDoubleLE(r + 32),
    count: body.readUInt32LE(r + 40),
    q: body[r + 44]!,
  };
}

/** Time of the i-th record of either kind: it is the first field of both. */
export function timeAt(body: Buffer, base: number, i: number, kind: BatchKind): number {
  return body.readDoubleLE(base + i * (kind === 'raw' ? RAW_RECORD_BYTES : AGG_RECORD_BYTES));
}

export interface DecodedBatch {
  kind: BatchKind;
  closedToMs: number;
}

export type OnPoint = (device: string, point: string, count: number, body: Buffer, base: number) => void;

/** A device's block inside a batch body: its points start at `start` and end at `start + length`. */
export interface DeviceBlock {
  device: string;
  start: number;
  length: number;
}

/** A batch's kind and closed_to (the first 9 bytes of its body). */
export function batchHeader(body: Buffer): { kind: BatchKind; closedToMs: number } {
  if (body.length < 11) throw new CorruptBatch('batch shorter than its header');
  const kindByte = body[0];
  if (kindByte !== 1 && kindByte !== 2) throw new CorruptBatch(`unknown batch kind ${kindByte}`);
  return { kind: kindByte === 1 ? 'raw' : 'agg', closedToMs: body.readDoubleLE(1) };
}

/** The kind, closed_to and device blocks of one batch body (after the header), without reading records. */
export function batchDirectory(body: Buffer): DecodedBatch & { blocks: DeviceBlock[] } {
  const { kind, closedToMs } = batchHeader(body);
  const devices = body.readUInt16LE(9);
  const blocks: DeviceBlock[] = [];
  let o = 11;
  for (let d = 0; d < devices; d++) {
    if (o + 1 > body.length) throw new CorruptBatch(`batch ends inside device ${d}`);
    const dl = body[o]!;
    if (o + 1 + dl + 4 > body.length) throw new CorruptBatch(`batch ends inside device ${d}`);
    const device = body.toString('utf8', o + 1, o + 1 + dl);
    o += 1 + dl;
    const length = body.readUInt32LE(o);
    o += 4;
    if (o + length > body.length) throw new CorruptBatch(`device block of ${device} overruns the batch`);
    blocks.push({ device, start: o, length });
    o += length;
  }
  return { kind, closedToMs, blocks };
}

/** Calls `onPoint` for each point block of one device block (`block` holds exactly that block). */
export function readDeviceBlock(block: Buffer, kind: BatchKind, device: string, onPoint: OnPoint): void {
  const recBytes = kind === 'raw' ? RAW_RECORD_BYTES : AGG_RECORD_BYTES;
  if (block.length < 2) throw new CorruptBatch(`device block of ${device} is empty`);
  const points = block.readUInt16LE(0);
  let o = 2;
  for (let p = 0; p < points; p++) {
    if (o + 1 > block.length) throw new CorruptBatch(`device block of ${device} ends inside a point`);
    const pl = block[o]!;
    if (o + 1 + pl + 4 > block.length) throw new CorruptBatch(`device block of ${device} ends inside a point`);
    const point = block.toString('utf8', o + 1, o + 1 + pl);
    o += 1 + pl;
    const count = block.readUInt32LE(o);
    o += 4;
    if (o + count * recBytes > block.length) throw new CorruptBatch(`${device}.${point}: records overrun the block`);
    onPoint(device, point, count, block, o);
    o += count * recBytes;
  }
  if (o !== block.length) throw new CorruptBatch(`device block of ${device} has ${block.length - o} stray bytes`);
}

/**
 * Walks one batch body (after the header) and calls `onPoint` for each point block of the
 * devices `wanted` accepts; other devices are skipped by length.
 */
export function readBatch(body: Buffer, wanted: (device: string) => boolean, onPoint: OnPoint): DecodedBatch & { blocks: DeviceBlock[] } {
  const dir = batchDirectory(body);
  for (const b of dir.blocks) if (wanted(b.device)) readDeviceBlock(body.subarray(b.start, b.start + b.length), dir.kind, b.device, onPoint);
  return dir;
}
