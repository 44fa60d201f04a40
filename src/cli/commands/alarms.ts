/**
 * `mgw alarms`: the alarm list of the running gateway, and the operator's actions on it.
 *
 *   mgw alarms [--device D] [--priority P] [--all] [--watch]   the list (live with --watch)
 *   mgw alarms ack ID... | --all [--device D]                  acknowledge
 *   mgw alarms shelve ID --for 30m [--comment TEXT]            shelve for a time
 *   mgw alarms unshelve ID
 *   mgw alarms out-of-service ID [--comment TEXT]             take out of service (admin); alias: disable
 *   mgw alarms return-to-service ID [--comment TEXT]          back in service (admin); alias: enable
 *   mgw alarms events [--since -3600] [--device D] [--limit N] the journal
 *
 * Exit statuses as every command (`mgw --help`): 65 for an unknown alarm or an action that
 * does not fit its state, 77 for a role that may not do it.
 */

type Action = 'shelve' | 'unshelve' | 'out_of_service' | 'return_to_service';
import type { Command } from 'commander';
import WebSocket from 'ws';
import { api } from '../api.js';
import { CliError, EXIT } from '../exit.js';
import { dim, paint, print, red, table } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { backoffDelay } from '../../client/backoff.js';
import { parseDuration } from '../../alarms/duration.js';
import type { AlarmActionReply, AlarmEvent, AlarmEventsReply, AlarmListReply, AlarmTopicMessage, AlarmView } from '../../protocol/alarms.js';
import type { ErrorMessage } from '../../protocol/wire.js';
import { isoTime } from '../../core/time.js';

interface ListOptions {
  device?: string;
  priority?: string;
  all?: boolean;
  watch?: boolean;
}

export function registerAlarmCommands(program: Command, globals: () => GlobalOptions): void {
  const alarms = program.command('alarms').description('the alarm list (active, unacknowledged, shelved), acknowledge and shelve');
  // The list is the default subcommand, so its options (--device, --all) do not clash with ack's.
  alarms
    .command('list', { isDefault: true })
    .description('the alarms that are not normal, critical first (the default)')
    .option('--device <id>', 'only alarms of this device')
    .option('--priority <list>', 'only these priorities, e.g. critical,high')
    .option('--all', 'every configured alarm, the normal ones too', false)
    .option('--watch', 'keep the list on screen and redraw it on every change (Ctrl-C to stop)', false)
    .action(async (opts: ListOptions) => {
      const g = globals();
      if (opts.watch) return watch(g, opts);
      const list = await fetchList(g, opts);
      print(g.json ? JSON.stringify(list, null, 2) : renderList(list));
    });

  alarms
    .command('ack')
    .description('acknowledge alarms by id, or every unacknowledged one (optionally of one device)')
    .argument('[ids...]', 'alarm ids, e.g. motor_01.current.hi')
    .option('--all', 'every unacknowledged alarm (with --device: of that device)', false)
    .option('--device <id>', 'with --all: only this device')
    .option('--comment <text>', 'a note kept with the acknowledgement')
    .action(async (ids: string[], opts: { all: boolean; device?: string; comment?: string }) => {
      const g = globals();
      if (opts.all === (ids.length > 0)) throw new CliError('name the alarms to acknowledge, or use --all (not both)', EXIT.usage);
      const body = opts.all ? { all: true, ...(opts.device ? { device: opts.device } : {}) } : { ids };
      const r = await api<AlarmActionReply>(g, 'POST', 'api/v1/alarms/ack', { ...body, ...(opts.comment ? { comment: opts.comment } : {}) });
      if (g.json) return print(JSON.stringify(r, null, 2));
      print(`acknowledged ${r.changed} alarm${r.changed === 1 ? '' : 's'}${r.alarms.length > 0 ? `: ${r.alarms.map((a) => a.id).join(', ')}` : ''}`);
      for (const u of r.unchanged) print(dim(`  ${u.id}: not acknowledged, ${u.reason}`));
    });

  alarms
    .command('shelve')
    .description('shelve an alarm for a time: it is not annunciated, and comes back by itself')
    .argument('<id>', 'alarm id')
    .requiredOption('--for <duration>', 'how long, e.g. 30m, 2h, 1h30m')
    .option('--comment <text>', 'why (kept in the journal and the audit trail)')
    .action(async (id: string, opts: { for: string; comment?: string }) => {
      const g = globals();
      const seconds = parseDuration(opts.for);
      if (seconds === undefined) throw new CliError(`--for ${JSON.stringify(opts.for)} is not a duration; e.g. 30m, 2h, 1h30m`, EXIT.usage);
      await act(g, id, 'shelve', { for: seconds, ...(opts.comment ? { comment: opts.comment } : {}) });
    });

  alarms
    .command('unshelve')
    .description('end a shelving now')
    .argument('<id>', 'alarm id')
    .action(async (id: string) => act(globals(), id, 'unshelve', {}));

  // ISA-18.2's out of service: for maintenance or a broken sensor, until an admin returns it.
  alarms
    .command('out-of-service')
    .alias('disable')
    .description('take an alarm out of service (role admin): not annunciated until it is returned to service')
    .argument('<id>', 'alarm id')
    .option('--comment <text>', 'why (kept in the journal and the audit trail)')
    .action(async (id: string, opts: { comment?: string }) => act(globals(), id, 'out_of_service', opts.comment ? { comment: opts.comment } : {}));

  alarms
    .command('return-to-service')
    .alias('enable')
    .description('return an alarm to service (role admin): an active condition is annunciated afresh')
    .argument('<id>', 'alarm id')
    .option('--comment <text>', 'a note kept in the journal and the audit trail')
    .action(async (id: string, opts: { comment?: string }) => act(globals(), id, 'return_to_service', opts.comment ? { comment: opts.comment } : {}));

  alarms
    .command('events')
    .description('the alarm journal, newest first')
    .option('--since <seconds>', 'seconds since the epoch, or negative seconds back from now (e.g. -3600)')
    .option('--device <id>', 'only this device')
    .option('--alarm <id>', 'only this alarm')
    .option('--limit <n>', 'at most this many (1-1000)', '50')
    .action(async (opts: { since?: string; device?: string; alarm?: string; limit: string }) => {
      const g = globals();
      const q = new URLSearchParams({ limit: opts.limit });
      if (opts.since !== undefined) q.set('from', opts.since);
      if (opts.device) q.set('device', opts.device);
      if (opts.alarm) q.set('alarm', opts.alarm);
      const r = await api<AlarmEventsReply>(g, 'GET', `api/v1/alarms/events?${q}`);
      if (g.json) return print(JSON.stringify(r, null, 2));
      print(
        table(
          ['TIME', 'ALARM', 'TRANSITION', 'STATE', 'VALUE', 'BY'],
          r.events.map((e) => [isoTime(e.time * 1000).replace('T', ' ').slice(0, 19), e.alarm_id, e.transition, e.to, value(e), e.by?.token ?? '']),
        ),
      );
    });
}

async function act(g: GlobalOptions, id: string, action: Action, body: Record<string, unknown>): Promise<void> {
  const r = await api<AlarmActionReply>(g, 'POST', `api/v1/alarms/${encodeURIComponent(id)}/${action}`, body);
  if (g.json) return print(JSON.stringify(r, null, 2));
  const a = r.alarms[0]!;
  print(`${a.id}: ${a.state.replace(/_/g, ' ')}${a.shelved_until !== null ? ` until ${new Date(a.shelved_until * 1000).toLocaleTimeString()}` : ''}`);
}

function query(opts: ListOptions): string {
  const q = new URLSearchParams();
  if (opts.device) q.set('device', opts.device);
  if (opts.priority) q.set('priority', opts.priority);
  if (opts.all) q.set('all', '1');
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

function fetchList(g: GlobalOptions, opts: ListOptions): Promise<AlarmListReply> {
  return api<AlarmListReply>(g, 'GET', `api/v1/alarms${query(opts)}`);
}

const PRIORITY_COLOUR: Record<string, number> = { critical: 35, high: 31, medium: 33, low: 36 };

export function renderList(list: AlarmListReply, nowS = Date.now() / 1000): string {
  const c = list.counts;
  const head = `${list.count} alarm${list.count === 1 ? '' : 's'}, ${list.unacked} unacknowledged  ${dim(`critical ${c.critical}  high ${c.high}  medium ${c.medium}  low ${c.low}`)}`;
  if (list.count === 0) return `${head}\n${dim('no alarms')}`;
  return `${head}\n${table(
    ['PRIORITY', 'STATE', 'ALARM', 'VALUE', 'SINCE', 'MESSAGE'],
    list.alarms.map((a) => [paint(a.priority, PRIORITY_COLOUR[a.priority] ?? 0), stateText(a), a.id, value(a), since(a, nowS), a.message]),
  )}`;
}

function stateText(a: AlarmView): string {
  const text = a.state.replace(/_/g, ' ');
  if (a.state === 'active_unack' || a.state === 'rtn_unack') return red(`${text} !`);
  if (a.state === 'shelved' && a.shelved_until !== null) return `shelved until ${new Date(a.shelved_until * 1000).toLocaleTimeString()}`;
  return text;
}

function value(a: AlarmView | AlarmEvent): string {
  if (a.value === null) return '-';
  return `${typeof a.value === 'string' ? a.value : JSON.stringify(a.value)}${a.unit ? ` ${a.unit}` : ''}`;
}

function since(a: AlarmView, nowS: number): string {
  const t = a.active_since ?? a.last_change;
  const s = Math.max(0, nowS - t);
  const at = new Date(t * 1000).toLocaleTimeString();
  if (s < 120) return `${at} (${Math.round(s)} s)`;
  if (s < 7200) return `${at} (${Math.round(s / 60)} min)`;
  return `${at} (${Math.round(s / 3600)} h)`;
}

/**
 * The list, redrawn on every transition: a WebSocket subscribed to the `alarms` topic only,
 * which reconnects with backoff and resumes by seq; each change re-reads the filtered list.
 * With --json, one line per transition (the AlarmEvent) instead.
 */
async function watch(g: GlobalOptions, opts: ListOptions): Promise<void> {
  let since: number | undefined;
  let attempt = 0;
  const draw = async () => {
    const list = await fetchList(g, opts);
    if (!g.json) process.stdout.write(`\x1b[2J\x1b[H${renderList(list)}\n`);
  };
  for (;;) {
    const closed = await new Promise<{ code: number; reason: string; opened: boolean }>((resolve) => {
      const url = new URL('ws/devices?devices=', g.url.endsWith('/') ? g.url : `${g.url}/`);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      // The token rides in a subprotocol beside mgw.v1, the name the gateway echoes (never the token).
      const ws = new WebSocket(url, g.token ? ['mgw.v1', `bearer.${g.token}`] : []);
      let opened = false;
      ws.on('open', () => {
        opened = true;
        attempt = 0;
        ws.send(JSON.stringify({ action: 'subscribe', topic: 'alarms', ...(since === undefined ? {} : { since }), id: 'alarms' }));
      });
      ws.on('message', (data) => {
        const m = JSON.parse(data.toString()) as AlarmTopicMessage | ErrorMessage;
        if (m.type === 'error') {
          process.stderr.write(`mgw: ${m.error_code}: ${m.message}\n`);
          return;
        }
        if (m.type === 'subscribed' || m.type === 'alarm_event') {
          since = m.seq;
          if (m.type === 'alarm_event' && g.json) print(JSON.stringify(m.event));
          draw().catch((err: unknown) => process.stderr.write(`mgw: ${(err as Error).message}\n`));
        }
      });
      ws.on('unexpected-response', (_req, res) => {
        if (res.statusCode === 401 || res.statusCode === 403) resolve({ code: -res.statusCode, reason: 'the gateway refused the token', opened });
        else resolve({ code: -1, reason: `HTTP ${res.statusCode}`, opened });
      });
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString(), opened }));
      ws.on('error', () => undefined);
    });
    if (closed.code === -401 || closed.code === -403) throw new CliError(closed.reason, EXIT.noperm);
    const delay = backoffDelay(attempt++);
    process.stderr.write(`${dim(`disconnected (${closed.reason || closed.code}); reconnecting in ${(delay / 1000).toFixed(1)} s`)}\n`);
    await new Promise((r) => setTimeout(r, delay));
  }
}
