/**
 * One Modbus master connection for `mgw modbus` (RTU on a serial port or Modbus TCP), with
 * retries and errors a technician can act on. The CLI talks to one unit at a time and keeps one
 * transaction in flight; after a timeout on a serial line it waits a quiet time so a late answer
 * cannot be taken for the answer to the next request.
 */
import ModbusSerial from 'modbus-serial';
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
}

// The CommonJS export is the class itself and also sets `.default` to it; NodeNext types see the namespace.
const ModbusRTU = ModbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

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
  private client: Client | undefined;
  readonly label: string;

  constructor(private readonly opts: LinkOptions) {
    this.label = describeLink(opts);
  }

  async start(): Promise<void> {
    const client = new ModbusRTU();
    const o = this.opts;
    try {
      if (o.host !== undefined) {
        await withDeadline(client.connectTCP(o.host, { port: o.tcpPort }), Math.max(1000, o.timeoutMs * o.tries));
      } else {
        await client.connectRTUBuffered(o.port!, { baudRate: o.baud, parity: o.parity, stopBits: o.stopBits, dataBits: 8 });
      }
    } catch (err) {
      client.close(() => undefined);
      throw this.openError(err);
    }
    client.setTimeout(o.timeoutMs);
    this.client = client;
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c === undefined) return;
    await new Promise<void>((resolve) => {
      try {
        c.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /**
   * Runs one request against `unit`, retrying on timeout. `what` names the request for errors
   * ("a read of holding register 40001 (0-based address 0)").
   */
  async request<T>(unit: number, what: string, fn: (c: Client) => Promise<T>, tries = this.opts.tries): Promise<T> {
    const c = this.client;
    if (c === undefined) throw new CliError('modbus link not started', EXIT.software);
    c.setID(unit);
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(c);
      } catch (err) {
        const e = err as { errno?: string; modbusCode?: number; message?: string };
        if (typeof e.modbusCode === 'number') throw new ModbusExceptionError(unit, e.modbusCode, what, this.label);
        if (e.errno === 'ETIMEDOUT' || /timed out/i.test(e.message ?? '')) {
          if (this.opts.port !== undefined) await quiet(this.opts);
          if (attempt < tries) continue;
          throw new NoAnswerError(unit, { ...this.opts, tries });
        }
        if (/crc/i.test(e.message ?? '')) {
          if (attempt < tries) continue;
          throw new CliError(`garbled answer from unit ${unit} on ${this.label} (${e.message}): check baud rate, parity and termination, and that only one master is on the line`, EXIT.protocol);
        }
        if (e.errno === 'ECONNRESET' || e.errno === 'EPIPE' || /port not open/i.test(e.message ?? '')) {
          throw new CliError(`the connection to ${this.label} was closed while waiting for unit ${unit}: the device or a Modbus gateway dropped it (one client at a time?)`, EXIT.unavailable);
        }
        throw new CliError(`${what} on unit ${unit} failed on ${this.label}: ${e.message ?? String(err)}`, EXIT.software);
      }
    }
  }

  private openError(err: unknown): CliError {
    const e = err as { code?: string; errno?: string; message?: string };
    const msg = e.message ?? String(err);
    const code = e.code ?? e.errno ?? '';
    const o = this.opts;
    if (o.host !== undefined) {
      if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return new CliError(`nothing listens on ${o.host}:${o.tcpPort}: check the address and port (--host, --tcp-port) and that the device's Modbus TCP server is enabled`, EXIT.unavailable);
      if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new CliError(`unknown host ${o.host}: check --host`, EXIT.unavailable);
      if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return new CliError(`cannot reach ${o.host}:${o.tcpPort} (${code}): check the network cable, the IP address and the subnet`, EXIT.unavailable);
      return new CliError(`cannot connect to ${o.host}:${o.tcpPort}: ${msg}`, EXIT.unavailable);
    }
    if (/no such file|ENOENT/i.test(msg)) return new CliError(`no serial port ${o.port}: run \`mgw ports\` to see the ports this machine has`, EXIT.unavailable);
    if (/permission denied|EACCES/i.test(msg)) return new CliError(`no permission to open ${o.port}: add this user to the dialout group (sudo usermod -aG dialout $USER, then log in again)`, EXIT.noperm);
    if (/lock|busy|EBUSY|temporarily unavailable/i.test(msg)) return new CliError(`${o.port} is in use by another program (the gateway daemon? stop it with \`systemctl stop machine-gateway\` while commissioning)`, EXIT.unavailable);
    return new CliError(`cannot open ${o.port}: ${msg}`, EXIT.unavailable);
  }
}

/** After a timeout on a serial line: 3.5 character times plus margin for a late reply to pass. */
function quiet(o: LinkOptions): Promise<void> {
  const charMs = (11 * 1000) / o.baud;
  return new Promise((resolve) => setTimeout(resolve, Math.max(20, Math.ceil(charMs * 3.5) + 20)));
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err);
      },
    );
  });
}
