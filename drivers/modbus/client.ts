/**
 * Modbus requests as promises, one at a time, on modbus-serial's ModbusRTU (request building,
 * reply parsing, exception decoding) over our framing adapters. Each call is one attempt; the
 * bus scheduler owns timeouts and retries and abandons the attempt when it timed out, after
 * which a late answer is dropped by the framing and a late callback is ignored here.
 */
import ModbusSerial from 'modbus-serial';
import type { Transport } from '../bus/transport.js';
import { LinkDownError } from '../bus/errors.js';
import type { Attempt } from '../bus/scheduler.js';
import { RtuFraming, TcpFraming, type FramingCounters } from './framing.js';
import { AsciiFraming } from './ascii-framing.js';

/** The meaning of each Modbus exception code (Modbus Application Protocol V1.1b3, 7). */
export const EXCEPTION_MEANINGS: Record<number, string> = {
  1: 'illegal function (the unit does not support this function code)',
  2: 'illegal data address (the unit has no such register or coil)',
  3: 'illegal data value (the unit refused the value)',
  4: 'server device failure (the unit reports an internal error)',
  5: 'acknowledge (the unit accepted a long-running request)',
  6: 'server device busy (try again later)',
  8: 'memory parity error',
  10: 'gateway path unavailable (check the gateway routing)',
  11: 'gateway target device failed to respond (the unit behind the gateway is silent)',
};

export class ModbusException extends Error {
  constructor(
    readonly exceptionCode: number,
    readonly request: string,
  ) {
    super(`exception ${exceptionCode}: ${EXCEPTION_MEANINGS[exceptionCode] ?? 'unknown exception'} (${request})`);
    this.name = 'ModbusException';
  }

  get meaning(): string {
    return EXCEPTION_MEANINGS[this.exceptionCode] ?? 'unknown exception';
  }

  /**
   * 0x0A and 0x0B come from a gateway, not from the unit: the unit is not there. The bus
   * scheduler treats such an answer like a timeout (AbsentUnitAnswer).
   */
  get unitAbsent(): boolean {
    return this.exceptionCode === 10 || this.exceptionCode === 11;
  }
}

/** A reply that is not a valid answer to the request (wrong length, wrong unit, bad CRC). */
export class ModbusReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModbusReplyError';
  }
}

// The CommonJS export is the class itself and also sets `.default` to it; NodeNext types see the namespace.
const ModbusRTU = ModbusSerial.default;

type Callback<T> = (err: (Error & { modbusCode?: number }) | null, res: T) => void;

export class ModbusClient {
  private readonly framing: RtuFraming | TcpFraming | AsciiFraming;
  private readonly master: InstanceType<typeof ModbusRTU>;

  constructor(options: { transport: Transport; kind: 'rtu' | 'tcp' | 'ascii' }) {
    this.framing =
      options.kind === 'rtu' ? new RtuFraming(options.transport) : options.kind === 'ascii' ? new AsciiFraming(options.transport) : new TcpFraming(options.transport);
    this.master = new ModbusRTU(this.framing);
    // Registers ModbusRTU's reply handler on the adapter; the transport itself is opened by the scheduler.
    this.master.open(() => undefined);
  }

  get framingCounters(): FramingCounters {
    return this.framing.counters;
  }

  readBits(unit: number, fc: 1 | 2, address: number, count: number, attempt: Attempt): Promise<boolean[]> {
    const label = `FC${fc} ${address}+${count}`;
    return this.call<{ data: boolean[] }>(label, attempt, (cb) =>
      fc === 1 ? this.master.writeFC1(unit, address, count, cb as never) : this.master.writeFC2(unit, address, count, cb as never),
    ).then((r) => r.data.slice(0, count));
  }

  readRegisters(unit: number, fc: 3 | 4, address: number, count: number, attempt: Attempt): Promise<number[]> {
    const label = `FC${fc} ${address}+${count}`;
    return this.call<{ data: number[] }>(label, attempt, (cb) =>
      fc === 3 ? this.master.writeFC3(unit, address, count, cb as never) : this.master.writeFC4(unit, address, count, cb as never),
    ).then((r) => r.data);
  }

  writeCoil(unit: number, address: number, value: boolean, attempt: Attempt): Promise<void> {
    return this.call(`FC5 ${address}`, attempt, (cb) => this.master.writeFC5(unit, address, value, cb as never)).then(() => undefined);
  }

  writeCoils(unit: number, address: number, values: boolean[], attempt: Attempt): Promise<void> {
    return this.call(`FC15 ${address}+${values.length}`, attempt, (cb) => this.master.writeFC15(unit, address, values, cb as never)).then(
      () => undefined,
    );
  }

  writeRegister(unit: number, address: number, value: number, attempt: Attempt): Promise<void> {
    return this.call(`FC6 ${address}`, attempt, (cb) => this.master.writeFC6(unit, address, value, cb as never)).then(() => undefined);
  }

  writeRegisters(unit: number, address: number, values: number[], attempt: Attempt): Promise<void> {
    return this.call(`FC16 ${address}+${values.length}`, attempt, (cb) => this.master.writeFC16(unit, address, values, cb as never)).then(
      () => undefined,
    );
  }

  /** FC22: the unit sets the register to (current AND andMask) OR (orMask AND NOT andMask), in one step. */
  maskWriteRegister(unit: number, address: number, andMask: number, orMask: number, attempt: Attempt): Promise<void> {
    return this.call(`FC22 ${address}`, attempt, (cb) => this.master.writeFC22(unit, address, andMask, orMask, cb as never)).then(() => undefined);
  }

  /**
   * FC43/14 read device identification, basic objects (0 vendor, 1 product code, 2 revision):
   * object id -> text. Follow-up requests for more objects are made by modbus-serial.
   */
  readDeviceIdentification(unit: number, attempt: Attempt): Promise<Record<number, string>> {
    const master = this.master as unknown as { writeFC43(unit: number, code: number, objectId: number, cb: unknown): void };
    return this.call<{ data: Record<number, string> }>('FC43/14', attempt, (cb) => master.writeFC43(unit, 1, 0, cb)).then((r) => r.data);
  }

  /**
   * FC23 read/write multiple registers: the unit writes `values` at `writeAddress`, then reads
   * `readCount` registers from `readAddress`, in one transaction (the write happens first).
   */
  readWriteRegisters(unit: number, readAddress: number, readCount: number, writeAddress: number, values: number[], attempt: Attempt): Promise<number[]> {
    const label = `FC23 ${readAddress}+${readCount} ${writeAddress}+${values.length}`;
    return this.call<{ data: number[] }>(label, attempt, (cb) =>
      this.master.writeFC23(unit, readAddress, readCount, writeAddress, values.length, values, cb as never),
    ).then((r) => r.data.slice(0, readCount));
  }

  /** One attempt: the scheduler abandons it when it timed out, and a late callback is ignored. */
  private call<T>(label: string, attempt: Attempt, send: (cb: Callback<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const onAbandon = () => {
        if (done) return;
        done = true;
        this.framing.abandon();
        reject(new Error(`${label} abandoned`));
      };
      if (attempt.aborted) return onAbandon();
      attempt.onAbandon(onAbandon);
      send((err, res) => {
        if (done) return;
        done = true;
        if (err === null || err === undefined) return resolve(res);
        if (typeof err.modbusCode === 'number') return reject(new ModbusException(err.modbusCode, label));
        if (err.name === 'PortNotOpenError') return reject(new LinkDownError(`port not open for ${label}`));
        reject(new ModbusReplyError(`${label}: ${err.message}`));
      });
    });
  }
}
