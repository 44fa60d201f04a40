/**
 * Modbus ASCII (Serial Line V1.02, 2.5.2): each frame is ':' + the unit, PDU and LRC as
 * hexadecimal characters + CR LF. ModbusRTU builds and parses RTU frames, so requests are
 * turned into ASCII on the way out and answers back into RTU (with a CRC) on the way in. The
 * frame delimiters make the reply's end plain, so no line timing is needed; like RTU there is
 * no transaction id, and what arrives while no request is outstanding is dropped.
 */
import type { Transport } from '../bus/transport.js';
import { crc16 } from './crc.js';
import { PortAdapter } from './framing.js';

/** The longest ASCII frame: ':' + 2 x (unit + 253 PDU bytes + LRC) + CR LF. */
const MAX_ASCII_FRAME = 1 + 2 * 255 + 2;

/** Longitudinal redundancy check: the two's complement of the byte sum. */
export function lrc(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return (-sum) & 0xff;
}

/** The ASCII frame for unit + PDU. */
export function asciiFrame(body: Uint8Array): Buffer {
  const hex = Buffer.concat([Buffer.from(body), Buffer.from([lrc(body)])]).toString('hex').toUpperCase();
  return Buffer.from(`:${hex}\r\n`, 'latin1');
}

export class AsciiFraming extends PortAdapter {
  private rx = '';
  private expect: { unit: number; fc: number } | undefined;

  constructor(transport: Transport) {
    super(transport);
  }

  write(adu: Buffer): void {
    if (this.rx.length > 0) this.counters.dropped_bytes += this.rx.length;
    this.rx = '';
    this.expect = { unit: adu[0]!, fc: adu[1]! };
    // ModbusRTU appended a CRC; ASCII carries an LRC instead.
    this.transport.write(asciiFrame(adu.subarray(0, adu.length - 2)));
  }

  abandon(): void {
    this.expect = undefined;
  }

  protected receive(chunk: Buffer): void {
    if (this.expect === undefined) {
      this.counters.dropped_bytes += chunk.length;
      this.counters.late_replies_dropped++;
      return;
    }
    this.rx += chunk.toString('latin1');
    if (this.rx.length > 2 * MAX_ASCII_FRAME) {
      this.counters.dropped_bytes += this.rx.length - MAX_ASCII_FRAME;
      this.rx = this.rx.slice(-MAX_ASCII_FRAME);
    }
    for (;;) {
      const start = this.rx.indexOf(':');
      if (start < 0) return;
      const end = this.rx.indexOf('\r\n', start);
      if (end < 0) return;
      const hex = this.rx.slice(start + 1, end);
      this.counters.dropped_bytes += start;
      this.rx = this.rx.slice(end + 2);
      const body = /^([0-9A-Fa-f]{2})+$/.test(hex) ? Buffer.from(hex, 'hex') : undefined;
      const { unit, fc } = this.expect;
      if (body === undefined || body.length < 3 || lrc(body.subarray(0, -1)) !== body[body.length - 1] || body[0] !== unit || (body[1]! & 0x7f) !== fc) {
        this.counters.dropped_bytes += hex.length + 3;
        continue;
      }
      this.expect = undefined;
      const rtu = Buffer.alloc(body.length + 1);
      body.copy(rtu, 0, 0, body.length - 1);
      rtu.writeUInt16LE(crc16(rtu.subarray(0, body.length - 1)), body.length - 1);
      this.emit('data', rtu);
      return;
    }
  }
}
