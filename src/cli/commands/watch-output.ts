/**
 * The three faces of `mgw watch`:
 * - a terminal: a table updated in place, with the connection, reconnects and resyncs on top;
 * - piped: one line per update on stdout; connection changes and resyncs on stderr;
 * - `--json`: one JSON object per line on stdout for every update, resync and connection change.
 * Each gets the client's events; values are rendered by watch-values.ts.
 */
import type { ConnectionEvent, GatewayClient, GatewayClientError, ResyncEvent, UpdateEvent } from '../../client/index.js';
import { age, dim, green, red, table } from '../output.js';
import { LiveTable } from './watch-table.js';
import { deviceState, onlineCell, pointQuality, shownPoints, updateState, valuesCell, valuesText, type PointFilter } from './watch-values.js';
import { isoTime } from '../../core/time.js';

export interface Output {
  update(u: UpdateEvent): void;
  resync(r: ResyncEvent): void;
  connection(c: ConnectionEvent): void;
  /** Every subscription is in step with the gateway again: values are live from here on. */
  synced(): void;
  error(e: GatewayClientError): void;
  close(): void;
}

export interface OutputContext {
  client: GatewayClient;
  url: string;
  filter: PointFilter;
}

/** Whether an update changed anything (a value or a quality) the filter lets through. */
export function passes(u: UpdateEvent, filter: PointFilter): boolean {
  return shownPoints(updateState(u), u.device.points, filter).length > 0;
}

function clock(t: number): string {
  return isoTime(t * 1000).slice(11, 23);
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

function describeResync(r: ResyncEvent, filter: PointFilter): string {
  const how = r.snapshot ? 'snapshot' : 'replayed';
  return r.reason === 'initial'
    ? `${r.device_id}  ${r.device.online ? 'online' : 'offline'}  ${valuesText(deviceState(r.device), r.device.points, filter, (n) => pointQuality(r.device, n, true))}  #${r.seq}`
    : `resync ${r.device_id} (${r.reason}, ${how}) at #${r.seq}`;
}

/** Piped: stdout carries exactly one line per update; everything else goes to stderr. */
export function lineOutput({ url, filter }: OutputContext): Output {
  const note = (s: string) => process.stderr.write(`${s}\n`);
  let everConnected = false;
  return {
    update: (u) =>
      process.stdout.write(`${clock(u.timestamp)}  ${u.device_id}  ${valuesText(updateState(u), u.device.points, filter, (n) => pointQuality(u.device, n, true))}  ${u.action} #${u.seq}\n`),
    resync: (r) => note(describeResync(r, filter)),
    connection: (c) => {
      const text = describeConnection(c, url, everConnected);
      if (c.state === 'connected') everConnected = true;
      if (text !== undefined) note(text);
    },
    synced: () => undefined,
    error: (e) => note(`${e.code}: ${e.message}`),
    close: () => undefined,
  };
}

export function jsonOutput({ filter }: OutputContext): Output {
  const line = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  const only = (state: Record<string, unknown>, points: UpdateEvent['device']['points']) =>
    filter === undefined ? state : Object.fromEntries(shownPoints(state, points, filter).map((n) => [n, state[n]]));
  return {
    update: (u) =>
      line({
        type: 'update',
        device_id: u.device_id,
        seq: u.seq,
        action: u.action,
        timestamp: u.timestamp,
        previous_state: only(u.previous_state, u.device.points),
        new_state: only(u.new_state, u.device.points),
        ...(u.quality === undefined ? {} : { quality: only(u.quality, u.device.points) }),
      }),
    resync: (r) =>
      line({
        type: 'resync',
        device_id: r.device_id,
        reason: r.reason,
        snapshot: r.snapshot,
        seq: r.seq,
        online: r.device.online,
        state: only(r.device.state, r.device.points),
        quality: only(r.device.quality ?? {}, r.device.points),
      }),
    connection: (c) =>
      line({
        type: 'connection',
        state: c.state,
        attempt: c.attempt,
        ...(c.delayMs === undefined ? {} : { delay_ms: c.delayMs }),
        ...(c.code === undefined ? {} : { code: c.code, reason: c.reason }),
        ...(c.instance === undefined ? {} : { instance: c.instance, resumed: c.resumed }),
      }),
    synced: () => undefined,
    error: (e) => line({ type: 'error', error_code: e.code, message: e.message, ...(e.deviceId === undefined ? {} : { device_id: e.deviceId }) }),
    close: () => undefined,
  };
}

/**
 * A terminal: the table is redrawn in place a few times a second. Without a live link (not yet
 * in step, or disconnected) the table cannot know whether a device is online, and every value
 * on it is the last one known: the ONLINE column says `no link` and the values are marked stale.
 */
export function tableOutput({ client, url, filter }: OutputContext): Output {
  const view = new LiveTable(process.stdout);
  let status = `connecting to ${url}`;
  let everConnected = false;
  let linkLive = false;
  let reconnects = 0;
  let resyncs = 0;
  let updates = 0;
  const recent: string[] = [];
  const remember = (s: string) => {
    recent.push(`${isoTime(Date.now()).slice(11, 19)}  ${s}`);
    if (recent.length > 5) recent.shift();
  };
  const frame = (): string[] => {
    const head = `${status}  ${dim(`updates ${updates}  reconnects ${reconnects}  resyncs ${resyncs}`)}`;
    const rows = client.devices().map((d) => [d.device_id, onlineCell(d, linkLive), String(d.seq), age(d.last_update), valuesCell(d, filter, linkLive)]);
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
      remember(describeResync(r, filter));
    },
    connection: (c) => {
      const text = describeConnection(c, url, everConnected);
      if (c.state !== 'connected') linkLive = false;
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
    synced: () => {
      linkLive = true;
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
