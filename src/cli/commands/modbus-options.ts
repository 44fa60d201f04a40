/**
 * The connection options every `mgw modbus` command shares, parsed into LinkOptions with a
 * usage error (exit 64) that names the option for anything out of range.
 */
import { Option, type Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import type { LinkOptions, Parity } from './modbus-link.js';

export interface RawLinkFlags {
  port?: string;
  host?: string;
  tcpPort: string;
  baud: string;
  parity: string;
  stopBits: string;
  timeout: string;
  tries: string;
  trace?: boolean;
  bus?: string;
  direct?: boolean;
}

export function addLinkOptions(cmd: Command, defaults: { timeoutMs: number; tries: number }): Command {
  return cmd
    .option('-p, --port <device>', 'serial port for Modbus RTU, e.g. /dev/ttyUSB0 (see `mgw ports`)')
    .option('-H, --host <host>', 'Modbus TCP device or gateway, e.g. 192.168.1.20 or 192.168.1.20:502')
    .option('--tcp-port <n>', 'Modbus TCP port (1-65535)', '502')
    .option('-b, --baud <n>', 'serial speed in baud (300-921600)', '19200')
    .addOption(new Option('--parity <p>', 'serial parity: none, even or odd (N/E/O)').default('even'))
    .option('--stop-bits <n>', 'serial stop bits: 1 or 2', '1')
    .option('-t, --timeout <ms>', 'answer timeout per try in ms (10-60000)', String(defaults.timeoutMs))
    .option('--tries <n>', 'attempts per request before giving up (1-10)', String(defaults.tries))
    .option('--trace', 'print every frame sent and received on stderr: hex, with the time since the request (own connection only)')
    .option('--bus <id>', 'go through the running gateway (--url, --token; role admin): its bus <id> runs the requests between its polls')
    .option('--direct', 'open the port or connection yourself even when the running gateway holds it');
}

export function intOption(name: string, text: string, min: number, max: number, unit = ''): number {
  const n = /^0x[0-9a-f]+$/i.test(text) ? Number.parseInt(text, 16) : Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new CliError(`${name} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}${unit ? ` ${unit}` : ''}`, EXIT.usage);
  }
  return n;
}

export function parseLink(f: RawLinkFlags): LinkOptions {
  if ((f.port === undefined) === (f.host === undefined)) {
    throw new CliError('say where the bus is: --port /dev/ttyUSB0 for Modbus RTU or --host 192.168.1.20 for Modbus TCP (exactly one), or --bus <id> for a bus of the running gateway', EXIT.usage);
  }
  let host = f.host;
  let tcpPort = intOption('--tcp-port', f.tcpPort, 1, 65535);
  const m = host === undefined ? null : /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(host);
  if (m) {
    host = m[1]!.replace(/^\[|\]$/g, '');
    tcpPort = intOption('--host port', m[2]!, 1, 65535);
  }
  const p = f.parity.toLowerCase();
  const parity: Parity | undefined = ({ none: 'none', n: 'none', even: 'even', e: 'even', odd: 'odd', o: 'odd' } as Record<string, Parity>)[p];
  if (parity === undefined) throw new CliError(`--parity ${JSON.stringify(f.parity)}: expected none, even or odd (N, E, O)`, EXIT.usage);
  const stopBits = intOption('--stop-bits', f.stopBits, 1, 2);
  return {
    port: f.port,
    host,
    tcpPort,
    baud: intOption('--baud', f.baud, 300, 921600, 'baud'),
    parity,
    stopBits,
    timeoutMs: intOption('--timeout', f.timeout, 10, 60000, 'ms'),
    tries: intOption('--tries', f.tries, 1, 10),
    trace: f.trace === true,
  };
}

/** Unit ids: 1..247 on a serial line; Modbus TCP devices also answer 0 and 255 (a gateway's bus: it checks by its kind). */
export function parseUnit(text: string, link: Pick<LinkOptions, 'host'> & { bus?: string | undefined }): number {
  return link.host !== undefined || link.bus !== undefined ? intOption('--unit', text, 0, 255) : intOption('--unit', text, 1, 247);
}

/**
 * Where the requests go: the line itself (`link`, from --port or --host), or a bus of the
 * running gateway (--bus). See connect() in modbus-connect.ts for how the choice is made.
 */
export interface Target {
  link: LinkOptions | undefined;
  bus: string | undefined;
  direct: boolean;
  timeoutMs: number;
  tries: number;
  /** For messages before the link is open. */
  host: string | undefined;
}

export function parseTarget(f: RawLinkFlags): Target {
  if (f.bus !== undefined) {
    if (f.direct === true) throw new CliError('--bus goes through the running gateway and --direct around it: give one of them', EXIT.usage);
    if (f.port !== undefined || f.host !== undefined) throw new CliError('--bus names a bus of the running gateway, which knows its port: leave out --port and --host', EXIT.usage);
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(f.bus)) throw new CliError(`--bus ${JSON.stringify(f.bus)}: a bus id is 1-64 letters, digits, "_", "-" or "."`, EXIT.usage);
    if (f.trace === true) throw new CliError('--trace shows the frames of your own connection; through the gateway set log.level: trace on the gateway instead (or use --direct with the daemon stopped)', EXIT.usage);
    return { link: undefined, bus: f.bus, direct: false, timeoutMs: intOption('--timeout', f.timeout, 10, 60000, 'ms'), tries: intOption('--tries', f.tries, 1, 10), host: undefined };
  }
  const link = parseLink(f);
  return { link, bus: undefined, direct: f.direct === true || f.trace === true, timeoutMs: link.timeoutMs, tries: link.tries, host: link.host };
}
