/**
 * `mgw watch`: live updates through the typed client, so a technician sees exactly what the
 * gateway published, in order, across drops and restarts. Three outputs:
 * - a terminal: a table updated in place, with the connection, reconnects and resyncs on top;
 * - piped: one line per update on stdout; connection changes and resyncs on stderr;
 * - `--json`: one JSON object per line on stdout for every update, resync and connection change.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import WebSocket from 'ws';
import { GatewayClient, type ConnectionEvent, type ResyncEvent, type UpdateEvent, type WebSocketConstructor } from '../../client/index.js';
import type { GatewayClientError } from '../../client/index.js';
import { age, dim, formatValue, green, red, table } from '../output.js';
import type { GlobalOptions } from '../main.js';
import { LiveTable } from './watch-table.js';

interface WatchOptions {
  count?: number;
}

export function registerWatch(program: Command, globals: () => GlobalOptions): void {
  program
    .command('watch')
    .description('stream live updates (all devices, or the ones named); reconnects and resumes without losing an update')
    .argument('[devices...]', 'device ids (default: all)')
    .option('--count <n>', 'exit after this many updates', positiveInt)
    .action(async (ids: string[], opts: WatchOptions) => {
      await watch(globals(), ids, opts);
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return n;
}

function watch(g: GlobalOptions, ids: string[], opts: WatchOptions): Promise<void> {
  const client = new GatewayClient({
    url: g.url,
    token: g.token,
    // A subprotocol keeps the token out of the URL (and so out of proxy and access logs).
    tokenIn: 'protocol',
    devices: ids.length > 0 ? ids : undefined,
    clientId: `mgw-watch-${process.pid}`,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  const out = g.json ? jsonOutput() : process.stdout.isTTY ? tableOutput(client, g.url) : lineOutput(g.url);
  let updates = 0;
  let done = false;
  return new Promise<void>((resolve) => {
    const finish = () => {
      if (done) return;
      done = true;
      client.stop();
      out.close();
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      resolve();
    };
    // The reader went away (`mgw watch | head`): stop quietly, as other Unix tools do.
    const onPipeError = (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      finish();
    };
    process.stdout.on('error', onPipeError);
    process.on('SIGINT', finish);
    process.on('SIGTERM', finish);
    client.on('connection', (e) => !done && out.connection(e));
    client.on('resync', (e) => !done && out.resync(e));
    client.on('error', (e) => !done && out.error(e));
    client.on('update', (u) => {
      if (done) return;
      out.update(u);
      updates++;
      if (opts.count !== undefined && updates >= opts.count) finish();
    });
    client.start();
  });
}

interface Output {
  update(u: UpdateEvent): void;
  resync(r: ResyncEvent): void;
  connection(c: ConnectionEvent): void;
  error(e: GatewayClientError): void;
  close(): void;
}

const values = (state: Record<string, unknown>) =>
  Object.entries(state)
    .map(([k, v]) => `${k}=${formatValue(v)}`)
    .join('  ');

function clock(t: number): string {
  return new Date(t * 1000).toISOString().slice(11, 23);
}

function describeConnection(c: ConnectionEvent, url: string, everConnected: boolean): string | undefined {
  switch (c.state) {
    case 'connecting':
      return c.attempt === 0 ? `connecting to ${url}` : undefined;
    case 'connected':
      return `${c.resumed ? 'reconnected to' : 'connected to'} ${url} (instance ${c.instance ?? '?'})`;
    case 'reconnecting':
      return `${everConnected ? 'disconnected' : 'cannot connect'} (${c.code ?? '?'}${c.reason ? ` ${c.reason}` : ''}); ${everConnected ? 'reconnecting' : 'trying again'} in ${((c.delayMs ?? 0) / 1000).toFixed(1)} s (attempt ${c.attempt})`;
    case 'closed':
      return 'closed';
    default:
      return undefined;
  }
}

function describeResync(r: ResyncEvent): string {
  const how = r.snapshot ? 'snapshot' : 'replayed';
  return r.reason === 'initial' ? `${r.device_id}  ${r.device.online ? 'online' : 'offline'}  ${values(r.device.state)}  #${r.seq}` : `resync ${r.device_id} (${r.reason}, ${how}) at #${r.seq}`;
}

/** Piped: stdout carries exactly one line per update; everything else goes to stderr. */
function lineOutput(url: string): Output {
  const note = (s: string) => process.stderr.write(`${s}\n`);
  let everConnected = false;
  return {
    update: (u) => process.stdout.write(`${clock(u.timestamp)}  ${u.device_id}  ${values(u.new_state)}  ${u.action} #${u.seq}\n`),
    resync: (r) => note(describeResync(r)),
    connection: (c) => {
      const text = describeConnection(c, url, everConnected);
      if (c.state === 'connected') everConnected = true;
      if (text !== undefined) note(text);
    },
    error: (e) => note(`${e.code}: ${e.message}`),
    close: () => undefined,
  };
}

function jsonOutput(): Output {
  const line = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  return {
    update: (u) =>
      line({ type: 'update', device_id: u.device_id, seq: u.seq, action: u.action, timestamp: u.timestamp, previous_state: u.previous_state, new_state: u.new_state }),
    resync: (r) => line({ type: 'resync', device_id: r.device_id, reason: r.reason, snapshot: r.snapshot, seq: r.seq, online: r.device.online, state: r.device.state }),
    connection: (c) =>
      line({
        type: 'connection',
        state: c.state,
        attempt: c.attempt,
        ...(c.delayMs === undefined ? {} : { delay_ms: c.delayMs }),
        ...(c.code === undefined ? {} : { code: c.code, reason: c.reason }),
        ...(c.instance === undefined ? {} : { instance: c.instance, resumed: c.resumed }),
      }),
    error: (e) => line({ type: 'error', error_code: e.code, message: e.message, ...(e.deviceId === undefined ? {} : { device_id: e.deviceId }) }),
    close: () => undefined,
  };
}

/** A terminal: the table is redrawn in place a few times a second. */
function tableOutput(client: GatewayClient, url: string): Output {
  const view = new LiveTable(process.stdout);
  let status = `connecting to ${url}`;
  let everConnected = false;
  let reconnects = 0;
  let resyncs = 0;
  let updates = 0;
  const recent: string[] = [];
  const remember = (s: string) => {
    recent.push(`${new Date().toISOString().slice(11, 19)}  ${s}`);
    if (recent.length > 5) recent.shift();
  };
  const frame = (): string[] => {
    const devices = client.devices();
    const head = `${status}  ${dim(`updates ${updates}  reconnects ${reconnects}  resyncs ${resyncs}`)}`;
    const rows = devices.map((d) => [d.device_id, d.online ? green('online') : red('offline'), String(d.seq), age(d.last_update), values(d.state)]);
    return [head, '', ...table(['DEVICE', 'ONLINE', 'SEQ', 'AGE', 'VALUES'], rows).split('\n'), '', ...recent.map((r) => dim(r))];
  };
  const timer = setInterval(() => view.draw(frame()), 200);
  return {
    update: () => {
      updates++;
    },
    resync: (r) => {
      if (r.reason === 'initial') return;
      resyncs++;
      remember(describeResync(r));
    },
    connection: (c) => {
      const text = describeConnection(c, url, everConnected);
      if (c.state === 'connected') {
        status = green(`connected`) + ` to ${url}`;
        if (c.resumed) reconnects++;
        everConnected = true;
      } else if (c.state === 'reconnecting') {
        status = red(everConnected ? 'disconnected' : 'cannot connect') + `, trying again in ${((c.delayMs ?? 0) / 1000).toFixed(1)} s`;
      }
      if (text !== undefined && c.attempt + reconnects > 0) remember(text);
      view.draw(frame());
    },
    error: (e) => remember(red(`${e.code}: ${e.message}`)),
    close: () => {
      clearInterval(timer);
      view.draw(frame());
      view.close();
    },
  };
}
