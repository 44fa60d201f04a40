/**
 * One Modbus master connection for `mgw modbus` (RTU on a serial port or Modbus TCP), with
 * retries and errors a technician can act on. It runs on the gateway's own bus stack
 * (drivers/bus transports, drivers/modbus client and framing), so a unit that answers here
 * answers the daemon the same way. One transaction is in flight at a time; a timed-out request
 * is abandoned, so a late answer is dropped instead of being taken for the next one, and on a
 * serial line the frame gap passes before the next request.
 */
import type { Transport } from '../../../drivers/bus/transport.js';
import type { ModbusClient } from '../../../drivers/modbus/client.js';
import type { Attempt, BusScheduler } from '../../../drivers/bus/scheduler.js';
import { BusTimeoutError, LinkDownError } from '../../../drivers/bus/errors.js';
import { rtuFrameGapMs } from '../../../drivers/modbus/rtu-timing.js';
import { TracingTransport, type TraceEntry } from '../../../drivers/bus/trace.js';
import { CliError, EXIT } from '../exit.js';
import type { Table } from './modbus-address.js';
import { encodeValue, type Layout, type Value, type ValueType } from './modbus-codec.js';

export type Parity = 'none' | 'even' | 'odd';

export interface LinkOptions {
  /** Serial device (RTU), e.g. /dev/ttyUSB0. Exactly one of port/host. */
  port?: string | undefined;
  /** Modbus TCP host. */
  host?: string | undefined;
  /** Modbus TCP port, 1..65535 (default 502). */
  tcpPort: number;
  /** Serial speed in baud (default 19200). */
  baud: number;
  parity: Parity;
  /** 1 or 2. */
  stopBits: number;
  /** Per try, in ms (default 300). */
  timeoutMs: number;
  /** Attempts per request, 1..10 (default 3). */
  tries: number;
  /** Print every frame on stderr (`--trace`). */
  trace?: boolean;
}


/** "/dev/ttyUSB0 at 19200 8E1" or "10.0.0.5:502 (Modbus TCP)". */
export function describeLink(o: LinkOptions): string {
  if (o.host !== undefined) return `${o.host}:${o.tcpPort} (Modbus TCP)`;
  return `${o.port} at ${o.baud} 8${o.parity[0]!.toUpperCase()}${o.stopBits}`;
}

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function: the unit does not support this request (wrong --table?)',
  2: 'illegal data address: the unit has no such register (check --address and its numbering)',
  3: 'illegal data value: the unit refused the value or the count',
  4: 'server device failure: the unit failed while handling the request',
  5: 'acknowledge: the unit accepted a long-running request',
  6: 'server device busy: try again later',
  8: 'memory parity error in the unit',
  10: 'gateway path unavailable: the Modbus gateway has no route to this unit',
  11: 'gateway target failed to respond: the unit behind the Modbus gateway did not answer',
};

export function exceptionMeaning(code: number): string {
  return EXCEPTIONS[code] ?? 'unknown exception code';
}

/** The unit answered with a Modbus exception. */
export class ModbusExceptionError extends CliError {
  constructor(
    readonly unit: number,
    readonly exceptionCode: number,
    what: string,
    link: string,
  ) {
    super(`unit ${unit} on ${link} refused ${what}: exception ${exceptionCode} (${exceptionMeaning(exceptionCode)})`, EXIT.protocol);
    this.name = 'ModbusExceptionError';
  }
  /** Exceptions 10/11 come from a TCP-to-RTU gateway that got no answer: the unit is not there. */
  get meansNoAnswer(): boolean {
    return this.exceptionCode === 10 || this.exceptionCode === 11;
  }
}

/** No answer after every try. */
export class NoAnswerError extends CliError {
  constructor(
    readonly unit: number,
    message: string,
  ) {
    super(message, EXIT.tempfail);
    this.name = 'NoAnswerError';
  }

  /** The message for the CLI's own connection: what to check on this kind of line. */
  static on(unit: number, o: LinkOptions, tries: number): NoAnswerError {
    const hint = o.host !== undefined ? 'check the unit ID, and the address and port of the device' : 'check wiring, termination, unit ID and parity';
    return new NoAnswerError(unit, `no answer from unit ${unit} on ${describeLink(o)} after ${tries} ${tries === 1 ? 'try' : 'tries'} (timeout ${o.timeoutMs} ms): ${hint}`);
  }
}

/** Which function a write uses: the single-item ones, the multiple ones, or FC23 (write then read back in one transaction). */
export type WriteFunction = 'single' | 'multiple' | 'read_write';

/** One write as `mgw modbus write` asks for it: typed values, encoded where the write is made. */
export interface TypedWrite {
  unit: number;
  table: 'holding' | 'coil';
  address: number;
  type: ValueType;
  layout: Layout;
  values: Value[];
  function: WriteFunction;
  /** What the write is, for errors: "a write to holding register 40021 (0-based address 20)". */
  what: string;
}

export interface WriteOutcome {
  /** The function code used (5, 6, 15, 16 or 23). */
  functionCode: number;
  /** FC23: the registers read back in the same transaction. */
  readBack?: number[] | undefined;
}

/**
 * Where `mgw modbus` sends its requests: its own connection to the line (ModbusLink), or the
 * running gateway that holds the line (GatewayLink, src/cli/commands/modbus-gateway.ts).
 * Errors are CliErrors a technician can act on (NoAnswerError, ModbusExceptionError, ...).
 */
export interface CommissioningLink {
  /** "/dev/ttyUSB0 at 19200 8E1", "10.0.0.5:502 (Modbus TCP)", "bus line1 of the gateway at http://...". */
  readonly label: string;
  read(unit: number, table: Table, address: number, count: number, what: string, tries?: number): Promise<number[] | boolean[]>;
  write(w: TypedWrite): Promise<WriteOutcome>;
  /** FC43/14: object id -> text. */
  identify(unit: number, what: string): Promise<Record<number, string>>;
  stop(): Promise<void>;
}

const READ_FC: Record<Table, 1 | 2 | 3 | 4> = { coil: 1, discrete: 2, holding: 3, input: 4 };

/**
 * The CLI's own connection to a line, on the gateway's bus scheduler: one transaction in flight,
 * a timed-out attempt abandoned (a late answer is dropped, not taken for the next one), the
 * frame gap kept on a serial line, retries after a timeout and after a garbled answer.
 */
export class ModbusLink implements CommissioningLink {
  private scheduler: BusScheduler | undefined;
  private client: ModbusClient | undefined;
  /** Loaded on start(): serialport and modbus-serial cost every other `mgw` command startup time. */
  private lib: typeof import('../../../drivers/modbus/client.js') | undefined;
  readonly label: string;

  constructor(private readonly opts: LinkOptions) {
    this.label = describeLink(opts);
  }

  async start(): Promise<void> {
    const o = this.opts;
    const [{ SerialTransport }, { TcpTransport }, lib, { BusScheduler }, { default: pino }] = await Promise.all([
      import('../../../drivers/bus/serial.js'),
      import('../../../drivers/bus/tcp.js'),
      import('../../../drivers/modbus/client.js'),
      import('../../../drivers/bus/scheduler.js'),
      // The default export: pino is CommonJS, and the bundled CLI keeps only that one.
      import('pino'),
    ]);
    this.lib = lib;
    const line: Transport =
      o.host !== undefined
        ? new TcpTransport({ host: o.host, port: o.tcpPort, connectTimeoutMs: Math.max(1000, o.timeoutMs * o.tries) })
        : new SerialTransport({ path: o.port!, baud: o.baud, parity: o.parity, dataBits: 8, stopBits: o.stopBits === 2 ? 2 : 1 });
    const transport = o.trace === true ? new TracingTransport(line, (e) => process.stderr.write(traceLine(e))) : line;
    const serial = o.port !== undefined;
    const scheduler = new BusScheduler({
      id: this.label,
      transport,
      timeoutMs: o.timeoutMs,
      retries: o.tries - 1,
      quietMs: serial ? pauseAfterTimeoutMs(o) : 0,
      gapMs: serial ? pauseAfterTimeoutMs(o) : 0,
      backoffMaxMs: 1000,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      log: pino({ level: 'silent' }),
    });
    let openFailure: string | undefined;
    scheduler.once('connect_failed', (reason: string) => (openFailure = reason));
    await scheduler.start();
    if (!scheduler.linkUp) {
      await scheduler.stop();
      throw this.openError(openFailure ?? 'the line did not open');
    }
    this.scheduler = scheduler;
    this.client = new lib.ModbusClient({ transport, kind: o.host !== undefined ? 'tcp' : 'rtu' });
  }

  async stop(): Promise<void> {
    const s = this.scheduler;
    this.scheduler = undefined;
    this.client = undefined;
    await s?.stop();
  }

  read(unit: number, table: Table, address: number, count: number, what: string, tries?: number): Promise<number[] | boolean[]> {
    const fc = READ_FC[table];
    return this.request<number[] | boolean[]>(unit, what, (c, a) => (fc === 1 || fc === 2 ? c.readBits(unit, fc, address, count, a) : c.readRegisters(unit, fc, address, count, a)), tries);
  }

  async write(w: TypedWrite): Promise<WriteOutcome> {
    const { unit, address } = w;
    if (w.table === 'coil') {
      const bits = w.values.map((v) => Boolean(v));
      if (bits.length === 1 && w.function === 'single') {
        await this.request(unit, w.what, (c, a) => c.writeCoil(unit, address, bits[0]!, a));
        return { functionCode: 5 };
      }
      await this.request(unit, w.what, (c, a) => c.writeCoils(unit, address, bits, a));
      return { functionCode: 15 };
    }
    const words = encodeWrite(w);
    if (w.function === 'read_write') {
      const readBack = await this.request(unit, w.what, (c, a) => c.readWriteRegisters(unit, address, words.length, address, words, a));
      return { functionCode: 23, readBack };
    }
    if (words.length === 1 && w.function === 'single') {
      await this.request(unit, w.what, (c, a) => c.writeRegister(unit, address, words[0]!, a));
      return { functionCode: 6 };
    }
    await this.request(unit, w.what, (c, a) => c.writeRegisters(unit, address, words, a));
    return { functionCode: 16 };
  }

  identify(unit: number, what: string): Promise<Record<number, string>> {
    return this.request(unit, what, (c, a) => c.readDeviceIdentification(unit, a));
  }

  /**
   * Runs one request against `unit` through the scheduler, which retries it after a timeout and
   * after a garbled answer. `what` names the request for errors ("a read of 1 register from
   * holding register 40001 (0-based address 0)").
   */
  async request<T>(unit: number, what: string, fn: (c: ModbusClient, attempt: Attempt) => Promise<T>, tries = this.opts.tries): Promise<T> {
    const c = this.client;
    const lib = this.lib;
    const scheduler = this.scheduler;
    if (c === undefined || lib === undefined || scheduler === undefined) throw new CliError('modbus link not started', EXIT.software);
    try {
      return await scheduler.submit({
        device: `unit ${unit}`,
        // The CLI is alone on its connection: nothing to rank against, and no unit rests.
        priority: 'write',
        rest: false,
        retries: tries - 1,
        label: what,
        retryOn: (err) => err instanceof lib.ModbusReplyError,
        run: (attempt) => fn(c, attempt),
      });
    } catch (err) {
      if (err instanceof lib.ModbusException) throw new ModbusExceptionError(unit, err.exceptionCode, what, this.label);
      if (err instanceof BusTimeoutError) throw NoAnswerError.on(unit, this.opts, tries);
      if (err instanceof LinkDownError) {
        throw new CliError(`the connection to ${this.label} was lost while waiting for unit ${unit}: the device or a Modbus gateway closed it (one client at a time?)`, EXIT.unavailable);
      }
      if (err instanceof lib.ModbusReplyError) {
        throw new CliError(
          `garbled answer from unit ${unit} on ${this.label} (${err.message}): check baud rate, parity and termination, and that only one master is on the line`,
          EXIT.protocol,
        );
      }
      throw new CliError(`${what} on unit ${unit} failed on ${this.label}: ${(err as Error).message ?? String(err)}`, EXIT.software);
    }
  }

  private openError(msg: string): CliError {
    const o = this.opts;
    if (o.host !== undefined) {
      const where = `${o.host}:${o.tcpPort}`;
      if (/refused/i.test(msg)) return new CliError(`nothing listens on ${where}: check the address and port (--host, --tcp-port) and that the device's Modbus TCP server is enabled`, EXIT.unavailable);
      if (/unknown host/i.test(msg)) return new CliError(`unknown host ${o.host}: check --host`, EXIT.unavailable);
      if (/unreachable|no answer within/i.test(msg)) return new CliError(`cannot reach ${where}: check the network cable, the IP address and the subnet (${msg})`, EXIT.unavailable);
      return new CliError(msg, EXIT.unavailable);
    }
    if (/no such device|no such file|ENOENT/i.test(msg)) return new CliError(`no serial port ${o.port}: run \`mgw ports\` to see the ports this machine has`, EXIT.unavailable);
    if (/permission denied|EACCES/i.test(msg)) return new CliError(`no permission to open ${o.port}: add this user to the dialout group (sudo usermod -aG dialout $USER, then log in again)`, EXIT.noperm);
    if (/busy|lock|temporarily unavailable/i.test(msg)) return new PortBusyError(`${o.port} is in use by another program (the gateway daemon? stop it with \`systemctl stop machine-gateway\` while commissioning)`);
    return new CliError(`cannot open ${o.port}: ${msg}`, EXIT.unavailable);
  }
}

/** The serial port is held by another program (the gateway daemon, most often). */
export class PortBusyError extends CliError {
  constructor(message: string) {
    super(message, EXIT.unavailable);
    this.name = 'PortBusyError';
  }
}

/** The registers of a typed write, by the daemon's own codec. */
export function encodeWrite(w: Pick<TypedWrite, 'values' | 'type' | 'layout'>): number[] {
  const words = w.values.flatMap((v) => encodeValue(v, w.type, w.layout));
  if (words.length > 123) throw new CliError(`${w.values.length} values: one write moves at most 123 registers`, EXIT.usage);
  return words;
}

/**
 * The pause after a timeout on a serial line: the RTU frame gap, 3.5 character times (3 ms at
 * 19200 8E1, 2 ms above 19200 baud). A late reply needs no longer wait: the RTU framing drops
 * what arrives while no request is out, and takes only an answer from the unit and function
 * asked, with a good CRC; a scan asks another unit each time and a retry asks the same thing
 * again.
 */
export function pauseAfterTimeoutMs(o: Pick<LinkOptions, 'baud' | 'parity' | 'stopBits'>): number {
  return rtuFrameGapMs({ baud: o.baud, data_bits: 8, parity: o.parity, stop_bits: o.stopBits });
}

/** `--trace` lines: "TX          01 03 00 00 00 01 84 0A" and "RX  +2.4 ms 01 03 02 01 F4 B8 53". */
export function traceLine(e: TraceEntry): string {
  return e.dir === 'tx' ? `TX          ${e.hex}\n` : `RX ${`+${e.ms.toFixed(1)}`.padStart(6)} ms ${e.hex}\n`;
}
