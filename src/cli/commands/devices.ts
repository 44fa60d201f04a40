import type { Command } from 'commander';
import { api } from '../api.js';
import { CliError, EXIT } from '../exit.js';
import { age, dim, formatValue, green, red, table } from '../output.js';
import type { GlobalOptions } from '../main.js';

export interface DeviceView {
  device_id: string;
  device_type: string;
  name: string;
  state: Record<string, unknown>;
  online: boolean;
  last_update: number | null;
  seq: number;
  points: Record<string, { unit?: string; access: string; type: string; min?: number; max?: number; enum?: string[] }>;
}

export function registerDeviceCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('devices')
    .description('list devices with their online state and age of data')
    .action(async () => {
      const g = globals();
      const { devices } = await api<{ devices: DeviceView[] }>(g, 'GET', 'api/v1/devices');
      if (g.json) return print(JSON.stringify(devices, null, 2));
      print(
        table(
          ['DEVICE', 'TYPE', 'ONLINE', 'AGE', 'VALUES'],
          devices.map((d) => [
            d.device_id,
            d.device_type,
            d.online ? green('online') : red('offline'),
            age(d.last_update),
            Object.entries(d.state)
              .map(([k, v]) => `${k}=${formatValue(v, d.points[k]?.unit)}`)
              .join('  '),
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
      const d = await api<DeviceView>(g, 'GET', `api/v1/devices/${encodeURIComponent(id)}`);
      if (g.json) return print(JSON.stringify(d, null, 2));
      print(`${d.device_id}  ${d.name !== d.device_id ? `${d.name}  ` : ''}${dim(d.device_type)}  ${d.online ? green('online') : red('offline')}  updated ${age(d.last_update)} ago  seq ${d.seq}`);
      print(
        table(
          ['POINT', 'VALUE', 'ACCESS', 'RANGE'],
          Object.entries(d.points).map(([name, p]) => [
            name,
            formatValue(d.state[name], p.unit),
            p.access,
            p.enum ? p.enum.join('|') : p.min !== undefined || p.max !== undefined ? `${p.min ?? ''}..${p.max ?? ''}` : '',
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
      const result = await api<{ new_state: Record<string, unknown>; previous_state: Record<string, unknown>; changed: boolean }>(
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

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}
