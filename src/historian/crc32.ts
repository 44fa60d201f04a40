/**
 * CRC-32 (IEEE 802.3, as zlib and the history files use it). Node has `zlib.crc32` only from
 * 20.15 and 22.2; on an older Node 20 (the newest Node 20 npm publishes for armv7 is 20.11) the
 * same checksum is computed here, so the files are the same whichever Node wrote them.
 */
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

/** The checksum in JavaScript, byte by byte with a 256-entry table. */
export function crc32Js(data: Uint8Array, value = 0): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** zlib's when this Node has it (native, faster), else crc32Js. */
export const crc32: (data: Uint8Array, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (zlib as unknown as { crc32: (d: Uint8Array, v?: number) => number }).crc32 : crc32Js;
