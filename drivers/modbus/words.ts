/**
 * Registers <-> bytes in the order a value is read. Byte order says which byte of a register
 * comes first (big: the high byte, as on the wire); word order says which register holds the
 * most significant part of a value that spans several (big: the first). The four combinations
 * are the ABCD / CDAB / BADC / DCBA of data sheets, for 32 and 64 bits alike.
 */

export type Order = 'big' | 'little';

export function swapBytes(word: number): number {
  return ((word & 0xff) << 8) | ((word >> 8) & 0xff);
}

/** The `count` registers from `at`, as big-endian bytes of the value they hold. */
export function wordsToBytes(words: readonly number[], at: number, count: number, byteOrder: Order, wordOrder: Order): Buffer {
  const buf = Buffer.alloc(2 * count);
  for (let i = 0; i < count; i++) {
    const w = words[at + (wordOrder === 'big' ? i : count - 1 - i)]!;
    buf.writeUInt16BE(byteOrder === 'little' ? swapBytes(w) : w, 2 * i);
  }
  return buf;
}

/** The registers that hold the big-endian bytes `buf` (its length is even). */
export function bytesToWords(buf: Buffer, byteOrder: Order, wordOrder: Order): number[] {
  const count = buf.length / 2;
  const words: number[] = [];
  for (let i = 0; i < count; i++) {
    const w = buf.readUInt16BE(2 * (wordOrder === 'big' ? i : count - 1 - i));
    words.push(byteOrder === 'little' ? swapBytes(w) : w);
  }
  return words;
}

/** Packed BCD (four bits per decimal digit) to its number; NaN when a nibble is not a digit. */
export function fromBcd(buf: Buffer): number {
  let n = 0;
  for (const byte of buf) {
    const hi = byte >> 4;
    const lo = byte & 0x0f;
    if (hi > 9 || lo > 9) return Number.NaN;
    n = n * 100 + hi * 10 + lo;
  }
  return n;
}

/** A whole number 0 .. 10^(2 x bytes) - 1 as packed BCD in `bytes` bytes. */
export function toBcd(n: number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  let rest = n;
  for (let i = bytes - 1; i >= 0; i--) {
    const two = rest % 100;
    buf[i] = (Math.floor(two / 10) << 4) | two % 10;
    rest = Math.floor(rest / 100);
  }
  return buf;
}

export type Trim = 'right' | 'both' | 'none';

/**
 * ASCII text from register bytes: it ends at the first NUL (C strings), then trailing (and with
 * `both`, leading) spaces go. Bytes outside printable ASCII are shown as U+FFFD, not dropped,
 * so a wrong register or byte order is visible.
 */
export function fromAscii(buf: Buffer, length: number, trim: Trim): string {
  let end = buf.indexOf(0);
  if (end < 0 || end > length) end = length;
  let s = '';
  for (let i = 0; i < end; i++) {
    const b = buf[i]!;
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '\uFFFD';
  }
  if (trim === 'right') return s.replace(/ +$/, '');
  if (trim === 'both') return s.trim();
  return s;
}

/** Printable ASCII text into `registers` registers' bytes, padded with NUL; undefined when it does not fit or is not ASCII. */
export function toAscii(text: string, length: number, registers: number): Buffer | undefined {
  if (text.length > length || !/^[\x20-\x7e]*$/.test(text)) return undefined;
  const buf = Buffer.alloc(2 * registers);
  buf.write(text, 'latin1');
  return buf;
}
