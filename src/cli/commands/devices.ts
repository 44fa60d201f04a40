import type { Command } from 'commander';
import { pointQuality } from '../../client/quality.js';
import type { ControlResult, DeviceView } from '../../protocol/wire.js';
import { api, type ApiMeta } from '../api.js';
import { CliError, EXIT } from '../exit.js';
import { age, dim, formatQualified, formatValue, green, print, red, table } from '../output.js';
import type { GlobalOptions } from '../options.js';

export function registerDeviceCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('devices')
    .description('list devices with their online state and age of data')
    .option('--quality <list>', 'only devices showing a value of these qualities, e.g. stale,bad')
    .action(async (opts: { quality?: string }) => {
      const g = globals();
      const meta: ApiMeta = {};
      const path = opts.quality === undefined ? 'api/v1/devices' : `api/v1/devices?quality=${encodeURIComponent(opts.quality)}`;
      const { devices } = await api<{ devices: DeviceView[] }>(g, 'GET', path, undefined, meta);
      if (g.json) return print(JSON.stringify(devices, null, 2));
      const now = gatewayNow(meta);
      print(
        table(
          ['DEVICE', 'TYPE', 'ONLINE', 'LAST CHANGE', 'VALUES'],
          devices.map((d) => [
            d.device_id,
            d.device_type,
            d.online ? green('online') : red('offline'),
            changedAgo(d.last_update, now),
            pointValues(d),
          ]),
        ),
      );
    });

  program
    .command('get')
    .description('show one device: every point with value, unit and access')
    .argument('<device>', 'device id')
    .action(async (id: string) => {
      const g = globals();
      const meta: ApiMeta = {};
      const d = await api<DeviceView>(g, 'GET', `api/v1/devices/${encodeURIComponent(id)}`, undefined, meta);
      if (g.json) return print(JSON.stringify(d, null, 2));
      print(`${d.device_id}  ${d.name !== d.device_id ? `${d.name}  ` : ''}${dim(d.device_type)}  ${d.online ? green('online') : red('offline')}  changed ${changedAgo(d.last_update, gatewayNow(meta))}  seq ${d.seq}`);
      print(
        table(
          ['POINT', 'VALUE', 'ACCESS', 'RANGE'],
          Object.entries(d.points).map(([name, p]) => [
            name,
            formatQualified(atResolution(d.state[name], p.decimals), pointQuality(d, name), p.unit),
            p.access,
            p.enum ? enumRange(p.enum, p.enum_codes) : p.min !== undefined || p.max !== undefined ? `${p.min ?? ''}..${p.max ?? ''}` : '',
          ]),
        ),
      );
    });

  program
    .command('set')
    .description('write one or more points and wait for the device to confirm, e.g. `mgw set motor_01 speed=1500 running=true`')
    .argument('<device>', 'device id')
    .argument('<assignments...>', 'point=value pairs; values are JSON (1500, true, "text") or plain text')
    .action(async (id: string, assignments: string[]) => {
      const g = globals();
      const body = parseAssignments(assignments);
      const result = await api<ControlResult>(
        g,
        'POST',
        `api/v1/devices/${encodeURIComponent(id)}`,
        body,
      );
      if (g.json) return print(JSON.stringify(result, null, 2));
      const names = Object.keys(body);
      print(
        names
          .map((n) => `${id}.${n}: ${formatValue(result.previous_state[n] ?? result.new_state[n])} -> ${formatValue(result.new_state[n] ?? body[n])}${result.changed ? '' : ' (unchanged)'}`)
          .join('\n'),
      );
    });
}

/** "0=manual|1=automatic": the codes a write may give too, or the labels alone. */
function enumRange(labels: readonly string[], codes: readonly number[] | undefined): string {
  return labels.map((l, i) => (codes?.[i] === undefined ? l : `${codes[i]}=${l}`)).join('|');
}

/**
 * "Now" on the gateway's clock, in seconds. last_update is stamped by the gateway; a laptop (or a
 * Pi without a real-time clock before NTP) may be hours off, which would show fresh data as
 * hours old. Beyond 2 s of difference the gateway's Date header (1 s resolution) wins.
 */
export function gatewayNow(meta: ApiMeta, localMs = Date.now()): number {
  const server = meta.serverDateMs;
  if (server === undefined || Math.abs(server + 500 - localMs) < 2000) return localMs / 1000;
  return (server + 500) / 1000; // the header is truncated to the second: take the middle of it
}

/**
 * Every point that has a value or a quality, in the device's point order, each marked when its
 * value is not the device's value now (`temperature=31.5 °C [stale]`).
 */
function pointValues(d: DeviceView): string {
  return Object.keys(d.points)
    .filter((k) => Object.hasOwn(d.state, k) || pointQuality(d, k) !== undefined)
    .map((k) => `${k}=${formatQualified(d.state[k], pointQuality(d, k), d.points[k]?.unit)}`)
    .join('  ');
}

/** "1.2 s ago" since the last change of any point (not the last poll: unchanged values do not count). */
function changedAgo(lastUpdate: number | null, nowS: number): string {
  return lastUpdate === null || lastUpdate === undefined ? 'never' : `${age(lastUpdate, nowS)} ago`;
}

export function parseAssignments(assignments: string[]): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) throw new CliError(`expected point=value, got ${JSON.stringify(a)}`, EXIT.usage);
    const name = a.slice(0, eq);
    const raw = a.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: a plain string such as an enum label
    }
    body[name] = value;
  }
  return body;
}

/** A number with the digits its point is known to (as the HMI shows it): 22.0 °C, not 22. */
function atResolution(value: unknown, decimals: number | undefined): unknown {
  return typeof value === 'number' && decimals !== undefined ? value.toFixed(decimals) : value;
}
