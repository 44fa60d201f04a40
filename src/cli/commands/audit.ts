/**
 * `mgw audit`: reads the audit trail (JSON lines of every control write, alarm action and
 * reload) with filters; table for
 * people, --json for scripts. It reads the file directly, so it works while the gateway is down.
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { auditFile, type AlarmAuditRecord, type AuditLine, type AuditRecord, type LineSendRecord, type ModbusWriteRecord, type ReloadRecord } from '../../platform/audit.js';
import { CliError, EXIT } from '../exit.js';
import { defaultConfigPath } from '../paths.js';
import { formatValue, green, print, red, table } from '../output.js';
import type { GlobalOptions } from '../options.js';

interface AuditOptions {
  file?: string;
  config?: string;
  device?: string;
  action?: string;
  by?: string;
  outcome?: string;
  since?: string;
  last?: number;
}

const ACTIONS = ['control', 'alarm', 'modbus_write', 'line_send', 'reload'];

export function registerAuditCommand(program: Command, globals: () => GlobalOptions): void {
  program
    .command('audit')
    .description('show the audit trail of control writes, alarm actions, raw Modbus writes, line sends and reloads: who, from where, which device, before, requested, outcome')
    .option('--file <file>', 'audit file (default: <state_dir>/audit.jsonl of the config, $STATE_DIRECTORY, or ./state)')
    .option('-c, --config <file>', 'configuration file whose state_dir to read', undefined)
    .option('--device <id>', 'only this device')
    .option('--action <kind>', 'only control (writes), alarm (ack, shelve, out of service, ...), modbus_write (mgw modbus write through the gateway), line_send (mgw line send through it) or reload entries')
    .option('--by <token-name>', 'only writes made with this token name ("anonymous" without tokens)')
    .option('--outcome <ok|error>', 'only successful or only failed writes')
    .option('--since <when>', 'only newer entries: an ISO time (2026-01-31T08:00) or an age (90s, 15m, 2h, 7d)')
    .option('--last <n>', 'only the last N matching entries', parseCount)
    .action(async (opts: AuditOptions) => {
      const file = opts.file ?? auditFile(stateDirFrom(opts.config));
      if (!existsSync(file)) throw new CliError(`no audit trail at ${file} (no control write yet, or another state_dir: see --file / --config)`, EXIT.unavailable);
      if (opts.outcome !== undefined && opts.outcome !== 'ok' && opts.outcome !== 'error') throw new CliError(`--outcome must be ok or error, got ${JSON.stringify(opts.outcome)}`, EXIT.usage);
      if (opts.action !== undefined && !ACTIONS.includes(opts.action)) throw new CliError(`--action must be one of ${ACTIONS.join(', ')}, got ${JSON.stringify(opts.action)}`, EXIT.usage);
      const since = opts.since === undefined ? undefined : parseSince(opts.since);
      const rows: AuditLine[] = [];
      let bad = 0;
      let lineNo = 0;
      const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        lineNo++;
        if (line.trim() === '') continue;
        let rec: AuditLine;
        try {
          rec = JSON.parse(line) as AuditLine;
        } catch {
          bad++;
          process.stderr.write(`mgw: ${file}:${lineNo}: not a JSON line; skipped\n`);
          continue;
        }
        if (opts.device !== undefined && (rec.action === 'reload' || rec.device !== opts.device)) continue;
        // Records written before actions were named are control writes.
        if (opts.action !== undefined && (rec.action ?? 'control') !== opts.action) continue;
        if (opts.by !== undefined && rec.token !== opts.by) continue;
        if (opts.outcome !== undefined && rec.outcome !== opts.outcome) continue;
        if (since !== undefined && !(Date.parse(rec.time) >= since)) continue;
        rows.push(rec);
        if (opts.last !== undefined && rows.length > opts.last) rows.shift();
      }
      if (globals().json) {
        for (const r of rows) print(JSON.stringify(r));
      } else if (rows.length === 0) {
        print('no matching entries');
      } else {
        print(
          table(
            ['TIME', 'TOKEN', 'REMOTE', 'DEVICE', 'CHANGE', 'OUTCOME'],
            rows.map((r) => (r.action === 'reload' ? reloadRow(r) : r.action === 'alarm' ? alarmRow(r) : r.action === 'modbus_write' ? modbusRow(r) : r.action === 'line_send' ? lineRow(r) : writeRow(r))),
          ),
        );
      }
      if (bad > 0) throw new CliError(`${bad} line${bad === 1 ? '' : 's'} of ${file} could not be read`, EXIT.dataerr);
    });
}

function writeRow(r: AuditRecord): string[] {
  return [
    r.time,
    r.token,
    r.remote ?? '-',
    r.device,
    Object.keys(r.requested)
      .map((k) => `${k}: ${formatValue(r.previous[k])} -> ${formatValue(r.requested[k])}`)
      .join(', '),
    r.outcome === 'ok' ? green('ok') : red(`${r.error_code ?? 'error'}: ${r.message ?? ''}`),
  ];
}

function modbusRow(r: ModbusWriteRecord): string[] {
  const change = Object.keys(r.requested)
    .map((k) => `${k}: ${formatValue(r.previous[k])} -> ${formatValue(r.requested[k])}`)
    .join(', ');
  const outcome = r.outcome === 'ok' ? green(`ok (FC${r.function_code ?? '?'})`) : red(`${r.error_code ?? 'error'}: ${r.message ?? ''}`);
  return [r.time, r.token, r.remote ?? '-', r.device, `modbus ${r.bus} unit ${r.unit}: ${change}`, outcome];
}

function lineRow(r: LineSendRecord): string[] {
  const outcome = r.outcome === 'ok' ? green(`ok${r.answer && r.answer.length > 0 ? `: ${JSON.stringify(r.answer)}` : ''}`) : red(`${r.error_code ?? 'error'}: ${r.message ?? ''}`);
  return [r.time, r.token, r.remote ?? '-', r.device, `line ${r.port}: sent ${JSON.stringify(r.sent)}`, outcome];
}

function alarmRow(r: AlarmAuditRecord): string[] {
  const q = r.requested;
  const extra = [q.for_s !== undefined ? `for ${q.for_s} s` : '', q.comment ? JSON.stringify(q.comment) : ''].filter((x) => x !== '').join(', ');
  const change = `alarm ${q.alarm_action.replace(/_/g, ' ')} ${r.previous.alarm}: ${r.previous.state}${r.new_state ? ` -> ${r.new_state.state}` : ''}${extra ? ` (${extra})` : ''}`;
  return [r.time, r.token, r.remote ?? '-', r.device, change, r.outcome === 'ok' ? green('ok') : red(`${r.error_code ?? 'error'}: ${r.message ?? ''}`)];
}

function reloadRow(r: ReloadRecord): string[] {
  const tokens = [...r.tokens_added.map((n) => `+${n}`), ...r.tokens_removed.map((n) => `-${n}`), ...r.tokens_changed.map((n) => `~${n}`)];
  const outcome = r.outcome === 'ok' ? green('ok') : red(`${r.error_code ?? 'error'}: ${r.file ?? ''}: ${r.problems?.[0] ?? ''}${(r.problems?.length ?? 0) > 1 ? ` (+${r.problems!.length - 1} more)` : ''}`);
  return [r.time, r.token, r.remote ?? '-', '-', tokens.length === 0 ? 'reload' : `reload, tokens: ${tokens.join(' ')}`, outcome];
}

function stateDirFrom(configFile: string | undefined): string | undefined {
  const file = configFile ?? defaultConfigPath();
  if (configFile === undefined && !existsSync(file)) return undefined;
  return loadConfigFile(file).state_dir;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--last must be a whole number >= 1, got ${JSON.stringify(value)}`, EXIT.usage);
  return n;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseSince(value: string, now = Date.now()): number {
  const age = /^(\d+(?:\.\d+)?)([smhd])$/.exec(value.trim());
  if (age) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(`--since must be an ISO time (2026-01-31T08:00) or an age like 15m, 2h, 7d; got ${JSON.stringify(value)}`, EXIT.usage);
  return t;
}
