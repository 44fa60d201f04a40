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
import { LinkDownError } from '../../../drivers/bus/errors.js';
import { rtuFrameGapMs } from '../../../drivers/modbus/rtu-timing.js';
import { TracingTransport, type TraceEntry } from '../../../drivers/bus/trace.js';
import { CliError, EXIT } from '../exit.js';

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

/** The unit answered with a Modbus exception. */
export class ModbusExceptionError extends CliError {
  constructor(
    readonly unit: number,
    readonly exceptionCode: number,
    what: string,
    link: string,
  ) {
    super(`unit ${unit} on ${link} refused ${what}: exception ${exceptionCode} (${EXCEPTIONS[exceptionCode] ?? 'unknown exception code'})`, EXIT.protocol);
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
    o: LinkOptions,
  ) {
    const hint = o.host !== undefined ? 'check the unit ID, and the address and port of the device' : 'check wiring, termination, unit ID and parity';
    super(
      `no answer from unit ${unit} on ${describeLink(o)} after ${o.tries} ${o.tries === 1 ? 'try' : 'tries'} (timeout ${o.timeoutMs} ms): ${hint}`,
      EXIT.tempfail,
    );
    this.name = 'NoAnswerError';
  }
}

export class ModbusLink {
  private transport: Transport | undefined;
  private client: ModbusClient | undefined;
  /** Loaded on start(): serialport and modbus-serial cost every other `mgw` command startup time. */
  private lib: typeof import('../../../drivers/modbus/client.js') | undefined;
  readonly label: string;

  constructor(private readonly opts: LinkOptions) {
    this.label = describeLink(opts);
  }

  async start(): Promise<void> {
    const o = this.opts;
    const [{ SerialTransport }, { TcpTransport }, lib] = await Promise.all([
      import('../../../drivers/bus/serial.js'),
      import('../../../drivers/bus/tcp.js'),
      import('../../../drivers/modbus/client.js'),
    ]);
    this.lib = lib;
    const line: Transport =
      o.host !== undefined
        ? new TcpTransport({ host: o.host, port: o.tcpPort, connectTimeoutMs: Math.max(1000, o.timeoutMs * o.tries) })
        : new SerialTransport({ path: o.port!, baud: o.baud, parity: o.parity, dataBits: 8, stopBits: o.stopBits === 2 ? 2 : 1 });
    const transport = o.trace === true ? new TracingTransport(line, (e) => process.stderr.write(traceLine(e))) : line;
    try {
      await transport.open();
    } catch (err) {
      throw this.openError(err);
    }
    this.transport = transport;
    this.client = new lib.ModbusClient({ transport, kind: o.host !== undefined ? 'tcp' : 'rtu' });
  }

  async stop(): Promise<void> {
    const t = this.transport;
    this.transport = undefined;
    this.client = undefined;
    await t?.close();
  }

  /**
   * Runs one request against `unit`, retrying on timeout and on garbled answers. `what` names
   * the request for errors ("a read of 1 register from holding register 40001 (0-based address 0)").
   */
  async request<T>(unit: number, what: string, fn: (c: ModbusClient, signal: AbortSignal) => Promise<T>, tries = this.opts.tries): Promise<T> {
    const c = this.client;
    const lib = this.lib;
    if (c === undefined || lib === undefined) throw new CliError('modbus link not started', EXIT.software);
    for (let attempt = 1; ; attempt++) {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), this.opts.timeoutMs);
      try {
        return await fn(c, abort.signal);
      } catch (err) {
        if (err instanceof lib.ModbusException) throw new ModbusExceptionError(unit, err.exceptionCode, what, this.label);
        if (err instanceof LinkDownError || this.transport?.isOpen === false) {
          throw new CliError(`the connection to ${this.label} was lost while waiting for unit ${unit}: the device or a Modbus gateway closed it (one client at a time?)`, EXIT.unavailable);
        }
        const garbled = err instanceof lib.ModbusReplyError;
        if (!abort.signal.aborted && !garbled) throw new CliError(`${what} on unit ${unit} failed on ${this.label}: ${(err as Error).message ?? String(err)}`, EXIT.software);
        if (this.opts.port !== undefined) await quiet(this.opts);
        if (attempt < tries) continue;
        if (garbled) {
          throw new CliError(
            `garbled answer from unit ${unit} on ${this.label} (${(err as Error).message}): check baud rate, parity and termination, and that only one master is on the line`,
            EXIT.protocol,
          );
        }
        throw new NoAnswerError(unit, { ...this.opts, tries });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private openError(err: unknown): CliError {
    const msg = (err as Error).message ?? String(err);
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
    if (/busy|lock|temporarily unavailable/i.test(msg)) return new CliError(`${o.port} is in use by another program (the gateway daemon? stop it with \`systemctl stop machine-gateway\` while commissioning)`, EXIT.unavailable);
    return new CliError(`cannot open ${o.port}: ${msg}`, EXIT.unavailable);
  }
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

function quiet(o: LinkOptions): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, pauseAfterTimeoutMs(o)));
}

/** `--trace` lines: "TX          01 03 00 00 00 01 84 0A" and "RX  +2.4 ms 01 03 02 01 F4 B8 53". */
export function traceLine(e: TraceEntry): string {
  return e.dir === 'tx' ? `TX          ${e.hex}\n` : `RX ${`+${e.ms.toFixed(1)}`.padStart(6)} ms ${e.hex}\n`;
}
