/**
 * Port adapters that put modbus-serial's ModbusRTU (which builds requests and parses replies,
 * CRC included) on top of our transports. modbus-serial's own ports would do the framing too,
 * but they open their own serialport/socket and its RTU port can take a late reply for the
 * next request's answer; these adapters own the framing so the bus scheduler decides when the
 * line is opened and which bytes can still be an answer.
 *
 * The ModbusRTU "port" contract: open(cb), close(cb), write(adu), isOpen, _transactionIdRead/
 * _transactionIdWrite, and 'data' events carrying one RTU ADU (unit, PDU, CRC).
 */
import { EventEmitter } from 'node:events';
import type { Transport } from '../bus/transport.js';
import { crc16 } from './crc.js';

const MAX_RTU_ADU = 256;

/** Length of the normal reply to an RTU request, or undefined when it cannot be known. */
function expectedReplyLength(adu: Buffer): number | undefined {
  const fc = adu[1];
  switch (fc) {
    case 1:
    case 2:
      return 3 + Math.ceil(adu.readUInt16BE(4) / 8) + 2;
    case 3:
    case 4:
      return 3 + 2 * adu.readUInt16BE(4) + 2;
    case 5:
    case 6:
    case 15:
    case 16:
      return 8;
    case 22:
      // FC22 echoes its request: address, AND mask, OR mask.
      return 10;
    case 23:
      // FC23 answers the registers it read, like FC3.
      return 3 + 2 * adu.readUInt16BE(4) + 2;
    default:
      return undefined;
  }
}

/**
 * Length of an FC43/14 (read device identification) reply starting at `at`, walked object by
 * object, or undefined while it is incomplete: unit, 0x2B, 0x0E, code, conformity, more
 * follows, next object, object count, then (id, length, value) per object, then the CRC.
 */
function deviceIdReplyLength(rx: Buffer, at: number): number | undefined {
  if (rx.length < at + 8) return undefined;
  let p = at + 8;
  for (let k = 0; k < rx[at + 7]!; k++) {
    if (rx.length < p + 2) return undefined;
    p += 2 + rx[p + 1]!;
  }
  return p + 2 - at;
}

/** Counts kept by an adapter, merged into the bus metrics. */
export interface FramingCounters {
  /**
   * Replies that answered no outstanding request and were dropped: late ones (the request was
   * abandoned after its timeout), ones with a wrong transaction id, stray bytes. RTU counts
   * each burst of bytes between two requests once.
   */
  late_replies_dropped: number;
  /** Bytes dropped because they formed no valid frame. */
  dropped_bytes: number;
}

export abstract class PortAdapter extends EventEmitter {
  _transactionIdRead = 1;
  _transactionIdWrite = 1;
  readonly counters: FramingCounters = { late_replies_dropped: 0, dropped_bytes: 0 };

  constructor(protected readonly transport: Transport) {
    super();
    transport.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  get isOpen(): boolean {
    return this.transport.isOpen;
  }

  /** The scheduler opens the transport; ModbusRTU only needs to hear that the port is ready. */
  open(callback: (err?: Error | null) => void): void {
    callback(null);
  }

  close(callback?: (err?: Error | null) => void): void {
    callback?.(null);
  }

  abstract write(adu: Buffer): void;
  protected abstract receive(chunk: Buffer): void;
}

/**
 * Modbus RTU: a reply is recognised by unit, function code, the length its request implies and
 * its CRC. Bytes that arrive while no request is outstanding, and whatever is buffered when a
 * new request goes out, cannot be its answer and are dropped.
 */
export class RtuFraming extends PortAdapter {
  private rx = Buffer.alloc(0);
  private expect: { unit: number; fc: number; length: number | undefined } | undefined;
  /** Bytes came since the last request while none was outstanding (counted once per burst). */
  private lateSeen = false;

  write(adu: Buffer): void {
    if (this.rx.length > 0) this.counters.dropped_bytes += this.rx.length;
    this.rx = Buffer.alloc(0);
    this.lateSeen = false;
    this.expect = { unit: adu[0]!, fc: adu[1]!, length: expectedReplyLength(adu) };
    this.transport.write(adu);
  }

  /** The request was abandoned (timed out): nothing that arrives now is an answer. */
  abandon(): void {
    this.expect = undefined;
  }

  protected receive(chunk: Buffer): void {
    if (this.expect === undefined) {
      this.counters.dropped_bytes += chunk.length;
      if (!this.lateSeen) this.counters.late_replies_dropped++;
      this.lateSeen = true;
      return;
    }
    this.rx = this.rx.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.rx, chunk]);
    if (this.rx.length > MAX_RTU_ADU * 2) {
      this.counters.dropped_bytes += this.rx.length - MAX_RTU_ADU;
      this.rx = this.rx.subarray(this.rx.length - MAX_RTU_ADU);
    }
    const { unit, fc, length } = this.expect;
    for (let i = 0; i + 5 <= this.rx.length; i++) {
      if (this.rx[i] !== unit) continue;
      const code = this.rx[i + 1];
      let n: number | undefined;
      if (code === (fc | 0x80)) n = 5;
      else if (code === fc && length !== undefined) n = length;
      else if (code === fc && fc === 0x2b) n = deviceIdReplyLength(this.rx, i);
      if (n === undefined || i + n > this.rx.length) continue;
      const frame = this.rx.subarray(i, i + n);
      if (frame.readUInt16LE(n - 2) !== crc16(frame.subarray(0, n - 2))) continue;
      this.counters.dropped_bytes += i;
      this.rx = Buffer.alloc(0);
      this.expect = undefined;
      this.emit('data', Buffer.from(frame));
      return;
    }
  }
}

/**
 * Modbus TCP: MBAP header with a transaction id. Only the reply carrying the id of the
 * outstanding request is passed on; a late reply to an abandoned request or one with a wrong
 * id is counted and dropped. Ids run 1-255: libmodbus's own test server (and some gateways)
 * echo only the low byte.
 */
export class TcpFraming extends PortAdapter {
  private rx = Buffer.alloc(0);
  private outstanding: { tid: number; unit: number } | undefined;

  write(adu: Buffer): void {
    // ModbusRTU keyed its pending request by _transactionIdWrite before calling write().
    const tid = this._transactionIdWrite;
    this._transactionIdWrite = (tid % 255) + 1;
    const pduLength = adu.length - 2; // unit + PDU, without the RTU CRC
    const frame = Buffer.alloc(6 + pduLength);
    frame.writeUInt16BE(tid, 0);
    frame.writeUInt16BE(0, 2);
    frame.writeUInt16BE(pduLength, 4);
    adu.copy(frame, 6, 0, pduLength);
    this.outstanding = { tid, unit: adu[0]! };
    this.transport.write(frame);
  }

  abandon(): void {
    this.outstanding = undefined;
  }

  protected receive(chunk: Buffer): void {
    this.rx = this.rx.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.rx, chunk]);
    while (this.rx.length >= 7) {
      const protocol = this.rx.readUInt16BE(2);
      const length = this.rx.readUInt16BE(4);
      if (protocol !== 0 || length < 2 || length > 254) {
        // Not a Modbus TCP stream position we can trust: drop what we have.
        this.counters.dropped_bytes += this.rx.length;
        this.rx = Buffer.alloc(0);
        return;
      }
      if (this.rx.length < 6 + length) return;
      const tid = this.rx.readUInt16BE(0);
      const body = this.rx.subarray(6, 6 + length);
      this.rx = this.rx.subarray(6 + length);
      const out = this.outstanding;
      if (out === undefined || tid !== out.tid) {
        this.counters.late_replies_dropped++;
        continue;
      }
      this.outstanding = undefined;
      const adu = Buffer.alloc(length + 2);
      body.copy(adu, 0);
      // Over TCP the transaction id identifies the answer; servers may put 0 or 255 in the unit
      // byte (gateways, libmodbus), so restore the unit the request addressed.
      adu[0] = out.unit;
      adu.writeUInt16LE(crc16(adu.subarray(0, length)), length);
      this._transactionIdRead = tid;
      this.emit('data', adu);
    }
  }
}
