/**
 * Splits the byte stream of a port into lines: @serialport/parser-readline plus the two guards a
 * field device needs and the parser lacks.
 * - A run of bytes without a delimiter longer than `maxLength` is discarded as soon as it passes
 *   the limit (memory stays bounded when a device babbles binary) and so is the rest of that line
 *   up to the next delimiter, which would otherwise look like a short valid line.
 * - A partial line still buffered when the port closes is discarded, not emitted: it may be cut
 *   off anywhere ("T=2" of "T=23.4").
 */
import { ReadlineParser } from '@serialport/parser-readline';
import type { TransformCallback } from 'node:stream';

export type DiscardKind = 'overlong' | 'incomplete';

export interface LineFramerOptions {
  delimiter: string;
  encoding: BufferEncoding;
  /** Bytes, without the delimiter. */
  maxLength: number;
  onDiscard: (kind: DiscardKind, head: string) => void;
}

export class LineFramer extends ReadlineParser {
  private dropping = false;
  private readonly limit: number;
  private readonly onDiscard: LineFramerOptions['onDiscard'];
  private readonly textEncoding: BufferEncoding;

  constructor(options: LineFramerOptions) {
    super({ delimiter: options.delimiter, encoding: options.encoding });
    this.limit = options.maxLength;
    this.onDiscard = options.onDiscard;
    this.textEncoding = options.encoding;
  }

  override push(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null || !Buffer.isBuffer(chunk)) return super.push(chunk, encoding);
    if (this.dropping) {
      // The tail of a line already reported as over-long.
      this.dropping = false;
      return true;
    }
    if (chunk.length > this.limit) {
      this.onDiscard('overlong', head(chunk, this.textEncoding));
      return true;
    }
    return super.push(chunk, encoding);
  }

  override _transform(chunk: Buffer, encoding: BufferEncoding, cb: TransformCallback): void {
    super._transform(chunk, encoding, (err) => {
      if (err) return cb(err);
      // Keep what could be the start of a multi-byte delimiter ("\r" of "\r\n").
      const keep = this.delimiter.length - 1;
      if (this.buffer.length > this.limit + keep) {
        if (!this.dropping) this.onDiscard('overlong', head(this.buffer, this.textEncoding));
        this.dropping = true;
        this.buffer = Buffer.from(this.buffer.subarray(this.buffer.length - keep));
      }
      cb();
    });
  }

  override _flush(cb: TransformCallback): void {
    if (this.buffer.length > 0 && !this.dropping) this.onDiscard('incomplete', head(this.buffer, this.textEncoding));
    this.reset();
    cb();
  }

  /** Forgets a partial line, e.g. after a timeout, so it cannot prefix the next answer. */
  reset(): void {
    this.buffer = Buffer.alloc(0);
    this.dropping = false;
  }

  /** Bytes of a partial line waiting for its delimiter. */
  get pending(): number {
    return this.buffer.length;
  }
}

function head(buf: Buffer, encoding: BufferEncoding): string {
  return buf.subarray(0, 40).toString(encoding);
}
