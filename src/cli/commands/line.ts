/**
 * `mgw line send`: send one line to a serial device and print what it answers, for devices that
 * speak a text protocol (scales, barcode readers, SCPI instruments). No daemon needed; while the
 * running gateway holds the port (it has line devices on it), the line goes through the gateway
 * (role admin), between its polls, as `mgw modbus` does (see modbus-connect.ts).
 */
import { realpathSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { exitForCode } from '../../protocol/errors.js';
import { networkReason, restRequest } from '../../protocol/rest.js';
import type { SerialTransport } from '../../../drivers/bus/serial.js';
import { CliError, EXIT } from '../exit.js';
import type { GlobalOptions } from '../options.js';
import { intOption } from './modbus-options.js';
import { print } from '../output.js';

const EOL: Record<string, string> = { crlf: '\r\n', lf: '\n', cr: '\r', none: '' };

interface LineFlags {
  port: string;
  baud: string;
  parity: string;
  stopBits: string;
  dataBits: string;
  eol: string;
  timeout: string;
  lines: string;
  direct?: boolean;
}

export function registerLineCommands(program: Command, globals: () => GlobalOptions): void {
  const line = program.command('line').description('talk to line-protocol serial devices directly (no daemon needed)');
  line
    .command('send')
    .description('send one line and print the answer line(s)')
    .argument('<text>', 'the line to send, without line ending (\\r, \\n, \\t and \\xNN escapes work)')
    .requiredOption('-p, --port <device>', 'serial port, e.g. /dev/ttyUSB0 (see `mgw ports`)')
    .option('-b, --baud <n>', 'speed in baud (300-921600)', '9600')
    .addOption(new Option('--parity <p>', 'none, even or odd (N/E/O)').default('none'))
    .option('--data-bits <n>', '7 or 8', '8')
    .option('--stop-bits <n>', '1 or 2', '1')
    .option('--eol <eol>', 'line ending to append: crlf, lf, cr or none', 'crlf')
    .option('-t, --timeout <ms>', 'wait this long for each answer line, in ms (10-60000)', '1000')
    .option('-n, --lines <n>', 'answer lines to wait for (0: send only)', '1')
    .option('--direct', 'open the port yourself even when the running gateway holds it')
    .addHelpText(
      'after',
      '\nWhen the gateway at --url holds the port, the line goes through it (token with role admin; the port\'s own serial settings apply; --timeout is per answer line).\n' +
        'Exit status: 0 ok, 64 bad arguments, 69 no such port or port busy, 75 no answer in time, 77 no permission on the port or token role too low.',
    )
    .action(async (text: string, f: LineFlags) => {
      const g = globals();
      const settings = parseLineFlags(f);
      const payload = unescape(text) + settings.eol;
      const started = performance.now();
      const held = f.direct === true ? undefined : await gatewayPort(g, f.port);
      const answer = held !== undefined && 'path' in held ? await sendThroughGateway(g, held.path, settings, payload) : await sendLine(f.port, settings, payload, f.direct === true ? undefined : g.url, held);
      const ms = Math.round(performance.now() - started);
      if (g.json) return print(JSON.stringify({ port: f.port, settings: settings.label, sent: payload, answer, ms }));
      for (const l of answer) print(l);
    });
}

interface LineSettings {
  baud: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  eol: string;
  timeoutMs: number;
  lines: number;
  label: string;
}

function parseLineFlags(f: LineFlags): LineSettings {
  const parity = ({ none: 'none', n: 'none', even: 'even', e: 'even', odd: 'odd', o: 'odd' } as const)[f.parity.toLowerCase() as 'none'];
  if (parity === undefined) throw new CliError(`--parity ${JSON.stringify(f.parity)}: expected none, even or odd (N, E, O)`, EXIT.usage);
  const eol = EOL[f.eol.toLowerCase()];
  if (eol === undefined) throw new CliError(`--eol ${JSON.stringify(f.eol)}: expected crlf, lf, cr or none`, EXIT.usage);
  const baud = intOption('--baud', f.baud, 300, 921600, 'baud');
  const dataBits = intOption('--data-bits', f.dataBits, 7, 8) as 7 | 8;
  const stopBits = intOption('--stop-bits', f.stopBits, 1, 2) as 1 | 2;
  return {
    baud,
    parity,
    dataBits,
    stopBits,
    eol,
    timeoutMs: intOption('--timeout', f.timeout, 10, 60000, 'ms'),
    lines: intOption('--lines', f.lines, 0, 1000),
    label: `${baud} ${dataBits}${parity[0]!.toUpperCase()}${stopBits}`,
  };
}

/** `\r`, `\n`, `\t`, `\\` and `\xNN` in the argument, so control characters can be typed. */
export function unescape(text: string): string {
  return text.replace(/\\(x[0-9a-fA-F]{2}|[rnt\\])/g, (_m, e: string) => {
    if (e[0] === 'x') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    return ({ r: '\r', n: '\n', t: '\t', '\\': '\\' } as Record<string, string>)[e]!;
  });
}

type Listed = { path: string } | { refused: string } | { none: true } | undefined;

/** The gateway's hold on the port: its path there, why it would not say, or nothing at the URL (undefined). */
async function gatewayPort(g: GlobalOptions, path: string): Promise<Listed> {
  const r = await restRequest<{ ports: { path: string }[] }>({ method: 'GET', path: '/api/v1/line', base: g.url, token: g.token, timeoutMs: 2000 });
  if (r.kind === 'network' || r.kind === 'not_json') return undefined;
  if (r.kind === 'error') return { refused: `${r.code}: ${r.message ?? r.statusText}` };
  const want = canonical(path);
  const port = (r.json?.ports ?? []).find((p) => canonical(p.path) === want);
  return port === undefined ? { none: true } : { path: port.path };
}

async function sendThroughGateway(g: GlobalOptions, path: string, s: LineSettings, payload: string): Promise<string[]> {
  const r = await restRequest<{ answer: string[] }>({
    method: 'POST',
    path: '/api/v1/admin/line/send',
    base: g.url,
    token: g.token,
    body: { port: path, payload, lines: s.lines, timeout_ms: s.timeoutMs },
    timeoutMs: 30_000 + 2 * s.timeoutMs * Math.max(1, s.lines),
  });
  switch (r.kind) {
    case 'ok':
      return r.json.answer;
    case 'network':
      throw new CliError(`lost the gateway at ${g.url}: ${r.timedOut ? 'no answer in time' : networkReason(r.cause)}`, EXIT.unavailable);
    case 'not_json':
      throw new CliError(`${g.url} answered ${r.status} with something that is not JSON: is it a machine-gateway?`, EXIT.unavailable);
    case 'error':
      throw new CliError(`${r.code}: ${r.message ?? r.statusText} (through the gateway at ${g.url}, which holds ${path})`, exitForCode(r.code));
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

async function sendLine(path: string, s: LineSettings, payload: string, url?: string, listed?: Listed): Promise<string[]> {
  // The gateway's own serial transport: it flushes what a streaming device sent before we asked.
  // Loaded here, not at the top: serialport costs every other command startup time.
  const { SerialTransport } = await import('../../../drivers/bus/serial.js');
  const port = new SerialTransport({ path, baud: s.baud, parity: s.parity, dataBits: s.dataBits, stopBits: s.stopBits });
  try {
    await port.open();
  } catch (err) {
    const e = openError(path, err as Error);
    if (!/is in use/.test(e.message) || url === undefined) throw e;
    const why =
      listed === undefined
        ? `no gateway answers at ${url} to go through instead (see --url)`
        : 'refused' in listed
          ? `the gateway at ${url} refused to list its ports (${listed.refused}): give an admin token (--token or MGW_TOKEN) to go through it`
          : `the gateway at ${url} holds no line devices on it: another program has it`;
    throw new CliError(`${e.message}; ${why}`, e.exitCode);
  }
  try {
    const answer = collectLines(port, s, path, payload);
    port.write(Buffer.from(payload, 'latin1'));
    return await answer;
  } finally {
    await port.close();
  }
}

/** Resolves with `s.lines` non-empty lines; each line gets its own timeout. */
function collectLines(port: SerialTransport, s: LineSettings, path: string, sent: string): Promise<string[]> {
  if (s.lines === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buffer = '';
    let timer: NodeJS.Timeout;
    const finish = (err?: CliError) => {
      clearTimeout(timer);
      port.off('data', onData);
      if (err) reject(err);
      else resolve(lines);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const got = lines.length === 0 ? (buffer === '' ? 'nothing' : `${JSON.stringify(buffer)} without a line ending`) : `${lines.length} of ${s.lines} lines`;
        finish(
          new CliError(
            `no answer from ${path} at ${s.label} within ${s.timeoutMs} ms to ${JSON.stringify(sent)} (got ${got}): check wiring, baud rate, parity and the line ending (--eol)`,
            EXIT.tempfail,
          ),
        );
      }, s.timeoutMs);
    };
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      const parts = buffer.split(/\r\n|\n|\r/);
      buffer = parts.pop() ?? '';
      for (const p of parts) {
        if (p === '') continue; // the \n of a \r\n split across two chunks
        lines.push(p);
        if (lines.length >= s.lines) return finish();
        arm();
      }
    };
    port.on('data', onData);
    arm();
  });
}

function openError(path: string, err: Error): CliError {
  const msg = err.message;
  if (/no such (file|device)|ENOENT/i.test(msg)) return new CliError(`no serial port ${path}: run \`mgw ports\` to see the ports this machine has`, EXIT.unavailable);
  if (/permission denied|EACCES/i.test(msg)) return new CliError(`no permission to open ${path}: add this user to the dialout group (sudo usermod -aG dialout $USER, then log in again)`, EXIT.noperm);
  if (/lock|busy|EBUSY|temporarily unavailable/i.test(msg)) return new CliError(`${path} is in use by another program (the gateway daemon? stop it while commissioning)`, EXIT.unavailable);
  return new CliError(`cannot open ${path}: ${msg}`, EXIT.unavailable);
}
