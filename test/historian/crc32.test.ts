/**
 * The JavaScript CRC-32 used on a Node without zlib.crc32 (older than 20.15, e.g. npm's newest
 * armv7 Node 20) gives zlib's checksum, so history files read the same whichever Node wrote them.
 */
import { randomBytes } from 'node:crypto';
import * as zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32Js } from '../../src/historian/crc32.js';

const native = (zlib as unknown as { crc32?: (d: Uint8Array, v?: number) => number }).crc32;

describe.skipIf(native === undefined)('crc32Js', () => {
  it('equals zlib.crc32 on empty, known and random buffers, and when continued', () => {
    expect(crc32Js(new Uint8Array())).toBe(0);
    expect(crc32Js(Buffer.from('123456789'))).toBe(0xcbf43926);
    for (let i = 0; i < 200; i++) {
      const b = randomBytes(i * 37);
      expect(crc32Js(b)).toBe(native!(b));
      const cut = Math.floor(b.length / 3);
      expect(crc32Js(b.subarray(cut), crc32Js(b.subarray(0, cut)))).toBe(native!(b));
    }
  });
});
