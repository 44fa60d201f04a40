/**
 * `mgw watch`: live updates through the typed client, so a technician sees exactly what the
 * gateway published, in order, across drops and restarts (outputs: watch-output.ts). It ends on
 * Ctrl-C, after --count updates, after -W seconds (as `mosquitto_sub -C` and `-W` do), or at
 * once with exit 65 when the gateway has no device or point of the names given.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import WebSocket from 'ws';
import { GatewayClient, type WebSocketConstructor } from '../../client/index.js';
import { CliError, EXIT } from '../exit.js';
import type { GlobalOptions } from '../options.js';
import { jsonOutput, lineOutput, passes, tableOutput, type Output } from './watch-output.js';
import type { PointFilter } from './watch-values.js';

interface WatchOptions {
  count?: number;
  /** Seconds. */
  timeout?: number;
  points?: string[];
}

/** -W takes seconds like mosquitto_sub's; fractions are allowed, up to a day. */
const MAX_TIMEOUT_S = 86_400;

export function registerWatch(program: Command, globals: () => GlobalOptions): void {
  program
    .command('watch')
    .description('stream live updates (all devices, or the ones named); reconnects and resumes without losing an update')
    .argument('[devices...]', 'device ids (default: all)')
    .option('--count <n>', 'exit after this many updates', positiveInt)
    .option('-W, --timeout <s>', `stop after this many seconds (exit 0; 75 when --count updates did not come, 69 when the gateway never answered)`, seconds)
    .option('--points <names>', 'only these points, comma-separated (e.g. speed,running); updates that change none of them are skipped', pointList, undefined)
    .action(async (ids: string[], opts: WatchOptions) => {
      await watch(globals(), ids, opts);
    });
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return n;
}

function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > MAX_TIMEOUT_S) throw new InvalidArgumentError(`must be a number of seconds above 0, at most ${MAX_TIMEOUT_S}`);
  return n;
}

/** Repeatable: `--points speed,running --points temperature`. */
function pointList(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new InvalidArgumentError(`"${value}": expected point names separated by commas, e.g. speed,running`);
  return [...(previous ?? []), ...names];
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
  const filter: PointFilter = opts.points === undefined ? undefined : new Set(opts.points);
  const context = { client, url: g.url, filter };
  const out: Output = g.json ? jsonOutput(context) : process.stdout.isTTY ? tableOutput(context) : lineOutput(context);
  let updates = 0;
  let everSynced = false;
  let done = false;
  return new Promise<void>((resolve, reject) => {
    const finish = (err?: CliError) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.stop();
      out.close();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onSignal = () => finish();
    const timer =
      opts.timeout === undefined
        ? undefined
        : setTimeout(() => finish(timedOut(g.url, opts, updates, everSynced)), opts.timeout * 1000);
    // The reader went away (`mgw watch | head`): stop quietly, as other Unix tools do.
    const onPipeError = (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      finish();
    };
    process.stdout.on('error', onPipeError);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    client.on('connection', (e) => !done && out.connection(e));
    client.on('resync', (e) => !done && out.resync(e));
    client.on('error', (e) => {
      // An unknown device named on the line is answered below, once the snapshot shows which.
      if (!done && !(e.code === 'device_not_found' && !everSynced)) out.error(e);
    });
    client.on('synced', () => {
      if (done) return;
      if (!everSynced) {
        everSynced = true;
        const problem = unknownNames(client, ids, filter);
        if (problem !== undefined) return finish(problem);
      }
      out.synced();
    });
    client.on('update', (u) => {
      if (done || !passes(u, filter)) return;
      out.update(u);
      updates++;
      if (opts.count !== undefined && updates >= opts.count) finish();
    });
    client.start();
  });
}

/**
 * Names the gateway does not have, checked against its first snapshot: a typo must end the
 * watch at once (exit 65, as `mgw get` does) instead of leaving it waiting for nothing.
 */
function unknownNames(client: GatewayClient, ids: string[], filter: PointFilter): CliError | undefined {
  const devices = client.devices();
  const known = new Set(devices.map((d) => d.device_id));
  const missing = [...new Set(ids)].filter((id) => !known.has(id));
  if (missing.length > 0) {
    const list = missing.join(', ');
    return new CliError(`device_not_found: ${missing.length === 1 ? 'Device' : 'Devices'} ${list} not found`, EXIT.dataerr);
  }
  if (filter === undefined) return undefined;
  const points = new Set(devices.flatMap((d) => Object.keys(d.points)));
  const unknown = [...filter].filter((p) => !points.has(p));
  if (unknown.length === 0) return undefined;
  const which = ids.length === 0 ? 'no device' : `no device of ${ids.join(', ')}`;
  return new CliError(`--points: ${which} has a point ${unknown.map((p) => JSON.stringify(p)).join(' or ')} (points: ${[...points].join(', ')})`, EXIT.dataerr);
}

/** -W ran out: fine for a watch bounded in time; a failure when it was waiting for --count updates or never got in. */
function timedOut(url: string, opts: WatchOptions, updates: number, synced: boolean): CliError | undefined {
  if (!synced) return new CliError(`timed out after ${opts.timeout} s: no connection to the gateway at ${url}`, EXIT.unavailable);
  if (opts.count !== undefined) return new CliError(`timed out after ${opts.timeout} s with ${updates} of ${opts.count} updates`, EXIT.tempfail);
  return undefined;
}
