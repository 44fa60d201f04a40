/**
 * `mgw line send`: send one line to a serial device and print what it answers, for devices that
 * speak a text protocol (scales, barcode readers, SCPI instruments). No daemon needed.
 */
import { Option, type Command } from 'commander';
import type { SerialTransport } from '../../../drivers/bus/serial.js';
import { CliError, EXIT } from '../exit.js';
import type { GlobalOptions } from '../main.js';
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
    .addHelpText('after', '\nExit status: 0 ok, 64 bad arguments, 69 no such port or port busy, 75 no answer in time, 77 no permission on the port.')
    .action(async (text: string, f: LineFlags) => {
      const g = globals();
      const settings = parseLineFlags(f);
      const payload = unescape(text) + settings.eol;
      const started = performance.now();
      const answer = await sendLine(f.port, settings, payload);
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

async function sendLine(path: string, s: LineSettings, payload: string): Promise<string[]> {
  // The gateway's own serial transport: it flushes what a streaming device sent before we asked.
  // Loaded here, not at the top: serialport costs every other command startup time.
  const { SerialTransport } = await import('../../../drivers/bus/serial.js');
  const port = new SerialTransport({ path, baud: s.baud, parity: s.parity, dataBits: s.dataBits, stopBits: s.stopBits });
  try {
    await port.open();
  } catch (err) {
    throw openError(path, err as Error);
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
