/**
 * A technician's raw requests on a bus the gateway holds (`mgw modbus read|write|info|scan`
 * while the daemon runs): they go through the bus's own scheduler at background priority, so
 * they wait for a moment no poll or write is queued and take at most the scheduler's
 * BACKGROUND_SHARE of the line. Their timeouts never rest a unit, silence the line or reopen
 * it: a scan's unanswered ids say nothing about the polled units.
 *
 * Values of a write are encoded by the gateway's own point codec, and what the registers held
 * just before is read first (in the same background turn order), for the audit trail.
 */
import { GatewayError } from '../../src/core/errors.js';
import type { CommissioningBus, RawRead, RawTable, RawWrite, RawWriteResult } from '../../src/core/commissioning.js';
import type { PointValue } from '../../src/core/points.js';
import { BusScheduler, type Attempt, type Transaction } from '../bus/scheduler.js';
import { BusStoppedError, BusTimeoutError, LinkDownError, TransactionCancelledError } from '../bus/errors.js';
import { ModbusClient, ModbusException, ModbusReplyError } from './client.js';
import { decodeRegisters, EncodeError, encodeRegisters, resolvePoint, type ResolvedPoint } from './codec.js';
import type { BusConfig, ModbusPointType } from './config.js';

/** Types a raw write may name: whole registers (no bit or byte fields), or bool for coils. */
const WRITE_TYPES: readonly ModbusPointType[] = ['int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64', 'bcd16', 'bcd32', 'string', 'bool'];
const READ_FC: Record<RawTable, 1 | 2 | 3 | 4> = { coil: 1, discrete: 2, holding: 3, input: 4 };
const DIGIT: Record<RawTable, string> = { coil: '0', discrete: '1', input: '3', holding: '4' };

/** "40021": the Modicon number of a 0-based address, as the audit trail names registers. */
export function modicon(table: RawTable, address: number): string {
  const n = address + 1;
  return `${DIGIT[table]}${String(n).padStart(n <= 9999 ? 4 : 5, '0')}`;
}

export interface CommissionerOptions {
  bus: BusConfig;
  scheduler: BusScheduler;
  client: ModbusClient;
  devices: { id: string; unit: number }[];
  /** The quiet after a timeout of `timeoutMs` on this bus. */
  quietFor: (timeoutMs: number) => number;
}

export class Commissioner implements CommissioningBus {
  readonly id: string;
  readonly devices: readonly { id: string; unit: number }[];

  constructor(private readonly o: CommissionerOptions) {
    this.id = o.bus.id;
    this.devices = o.devices;
  }

  get linkUp(): boolean {
    return this.o.scheduler.linkUp;
  }

  read(r: RawRead): Promise<number[] | boolean[]> {
    checkRange(r.table, r.address, r.count);
    const fc = READ_FC[r.table];
    const what = `read ${r.table} ${r.address}+${r.count}`;
    return this.submit<number[] | boolean[]>(r.unit, what, r, (c, a) =>
      fc === 1 || fc === 2 ? c.readBits(r.unit, fc, r.address, r.count, a).then((b) => b.slice(0, r.count)) : c.readRegisters(r.unit, fc, r.address, r.count, a),
    );
  }

  async write(w: RawWrite): Promise<RawWriteResult> {
    const { unit, address } = w;
    if (w.table === 'coil') {
      if (w.type !== 'bool') throw invalid('type', `coils are single bits: type must be bool, not ${JSON.stringify(w.type)}`);
      if (w.function === 'read_write') throw invalid('function', 'function 23 (read_write) writes holding registers only, not coils');
      const bits = w.values.map((v, i) => {
        if (typeof v !== 'boolean') throw invalid(`values[${i}]`, 'a coil takes true or false');
        return v;
      });
      checkRange('coil', address, bits.length);
      const previous = await this.before(w, 'coil', bits.length, 1, undefined);
      const requested = Object.fromEntries(bits.map((b, i) => [modicon('coil', address + i), b]));
      if (bits.length === 1 && w.function === 'single') {
        await this.submit(unit, `write coil ${address}`, w, (c, a) => c.writeCoil(unit, address, bits[0]!, a));
        return { function_code: 5, previous, requested };
      }
      await this.submit(unit, `write coils ${address}+${bits.length}`, w, (c, a) => c.writeCoils(unit, address, bits, a));
      return { function_code: 15, previous, requested };
    }
    const point = this.point(w);
    const words: number[] = [];
    const requested: Record<string, PointValue> = {};
    w.values.forEach((v, i) => {
      try {
        words.push(...encodeRegisters(point, v));
      } catch (err) {
        if (err instanceof EncodeError) throw invalid(`values[${i}]`, err.message.replace(/^value: /, ''));
        throw err;
      }
      requested[modicon('holding', address + i * point.count)] = v;
    });
    if (words.length < 1 || words.length > 123) throw invalid('values', `one write moves 1 to 123 registers, these values take ${words.length}`);
    checkRange('holding', address, words.length);
    const previous = await this.before(w, 'holding', w.values.length, point.count, point);
    if (w.function === 'read_write') {
      const back = await this.submit(unit, `read/write holding ${address}+${words.length}`, w, (c, a) => c.readWriteRegisters(unit, address, words.length, address, words, a));
      return { function_code: 23, read_back: back, previous, requested };
    }
    if (words.length === 1 && w.function === 'single') {
      await this.submit(unit, `write holding ${address}`, w, (c, a) => c.writeRegister(unit, address, words[0]!, a));
      return { function_code: 6, previous, requested };
    }
    await this.submit(unit, `write holding ${address}+${words.length}`, w, (c, a) => c.writeRegisters(unit, address, words, a));
    return { function_code: 16, previous, requested };
  }

  identify(unit: number, timeoutMs?: number, tries?: number): Promise<Record<number, string>> {
    return this.submit(unit, 'device identification (FC43/14)', { timeoutMs, tries }, (c, a) => c.readDeviceIdentification(unit, a));
  }

  /** The codec's point for a typed write, so the gateway encodes exactly as it would for a configured point. */
  private point(w: RawWrite): ResolvedPoint {
    if (!(WRITE_TYPES as readonly string[]).includes(w.type) || w.type === 'bool') {
      throw invalid('type', `expected one of ${WRITE_TYPES.filter((t) => t !== 'bool').join(', ')} for holding registers, got ${JSON.stringify(w.type)}`);
    }
    const type = w.type as ModbusPointType;
    const length = type === 'string' ? (w.length ?? 0) * 2 : undefined;
    if (type === 'string' && (w.length === undefined || w.length < 1 || w.length > 120)) throw invalid('length', 'a string write needs its length in registers, 1-120');
    return resolvePoint('value', {
      table: 'holding',
      address: 0,
      type,
      byte_order: w.byteOrder,
      word_order: w.wordOrder,
      scale: 1,
      offset: 0,
      access: 'rw',
      deadband: 0,
      ...(length === undefined ? {} : { length, trim: 'none' as const }),
    });
  }

  /**
   * What the write will change, read just before it (same background queue): the audit trail's
   * "previous". A unit that refuses the read (a write-only register) still gets the write; the
   * record then says the value was not readable.
   */
  private async before(w: RawWrite, table: 'holding' | 'coil', values: number, width: number, point: ResolvedPoint | undefined): Promise<Record<string, PointValue>> {
    const out: Record<string, PointValue> = {};
    try {
      const data = await this.read({ unit: w.unit, table, address: w.address, count: values * width, timeoutMs: w.timeoutMs, tries: w.tries });
      for (let i = 0; i < values; i++) {
        const key = modicon(table, w.address + i * width);
        out[key] = point === undefined ? Boolean(data[i]) : decodeRegisters(point, data as number[], i * width);
      }
    } catch (err) {
      if (!(err instanceof GatewayError) || err.code !== 'modbus_exception') throw err;
      for (let i = 0; i < values; i++) out[modicon(table, w.address + i * width)] = `unreadable (${err.message})`;
    }
    return out;
  }

  private submit<T>(unit: number, label: string, t: { timeoutMs?: number | undefined; tries?: number | undefined }, run: (c: ModbusClient, a: Attempt) => Promise<T>): Promise<T> {
    const { bus, scheduler, client } = this.o;
    if (!Number.isInteger(unit) || unit < 0 || unit > (bus.kind === 'tcp' ? 255 : 247) || (bus.kind !== 'tcp' && unit === 0)) {
      throw invalid('unit', bus.kind === 'tcp' ? 'a unit id is 0-255 on Modbus TCP' : `a unit id on a ${bus.kind} line is 1-247 (0 is broadcast, which nobody answers)`);
    }
    const timeoutMs = t.timeoutMs ?? bus.timeout_ms;
    const tx: Transaction<T> = {
      device: `commissioning unit ${unit}`,
      priority: 'background',
      label,
      retries: t.tries === undefined ? bus.retries : t.tries - 1,
      timeoutMs,
      quietMs: this.o.quietFor(timeoutMs),
      ...(bus.request_delay_ms > 0 ? { delayMs: bus.request_delay_ms } : {}),
      rest: false,
      retryOn: (err) => err instanceof ModbusReplyError,
      run: (a) => run(client, a),
    };
    return scheduler.submit(tx).catch((err: unknown) => {
      throw this.error(err, unit, label, timeoutMs, tx.retries! + 1);
    });
  }

  private error(err: unknown, unit: number, label: string, timeoutMs: number, tries: number): GatewayError {
    const where = `unit ${unit} on bus ${this.id}`;
    if (err instanceof GatewayError) return err;
    if (err instanceof ModbusException) {
      return new GatewayError('modbus_exception', `${where} refused ${label}: exception ${err.exceptionCode}, ${err.meaning}`, {
        cause: err,
        details: { exception_code: err.exceptionCode, exception: err.meaning },
      });
    }
    if (err instanceof BusTimeoutError) {
      return new GatewayError('unit_timeout', `no answer from ${where} to ${label} after ${tries} ${tries === 1 ? 'try' : 'tries'} (timeout ${timeoutMs} ms)`, { cause: err });
    }
    if (err instanceof LinkDownError) return new GatewayError('bus_down', `${err.message}; nothing was sent`, { cause: err });
    if (err instanceof BusStoppedError || err instanceof TransactionCancelledError) return new GatewayError('not_ready', `bus ${this.id} is stopping`, { cause: err });
    if (err instanceof ModbusReplyError) {
      return new GatewayError('modbus_exception', `garbled answer from ${where} to ${label} (${err.message}): check baud rate, parity and termination`, { cause: err, details: { garbled: true } });
    }
    return new GatewayError('internal_error', `${label} on ${where} failed`, { cause: err });
  }
}

function invalid(field: string, why: string): GatewayError {
  return new GatewayError('invalid_request', `${field}: ${why}`, { details: { field } });
}

function checkRange(table: RawTable, address: number, count: number): void {
  const max = table === 'coil' || table === 'discrete' ? 2000 : 125;
  if (!Number.isInteger(address) || address < 0 || address > 65535) throw invalid('address', `a 0-based address is 0-65535, got ${address}`);
  if (!Number.isInteger(count) || count < 1 || count > max) throw invalid('count', `one request moves 1 to ${max} ${max === 2000 ? 'bits' : 'registers'}, got ${count}`);
  if (address + count - 1 > 65535) throw invalid('count', `${address} + ${count} runs past the last address 65535`);
}
