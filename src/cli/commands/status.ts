/**
 * `mgw status`: the gateway's health at a glance for a technician (GET /api/v1/status).
 * Exits 0 when healthy, 69 (unavailable) when starting, stopping or unhealthy, so scripts can
 * use it as a check.
 */
import type { Command } from 'commander';
import { api } from '../api.js';
import { EXIT } from '../exit.js';
import { dim, green, red, table } from '../output.js';
import type { GlobalOptions } from '../options.js';
import type { StatusReport } from '../../server/metrics.js';

export function registerStatus(program: Command, globals: () => GlobalOptions): void {
  program
    .command('status')
    .description('health, uptime, drivers, devices online and clients of the running gateway')
    .action(async () => {
      const g = globals();
      const s = await api<StatusReport>(g, 'GET', 'api/v1/status');
      if (g.json) process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
      else process.stdout.write(`${renderStatus(s)}\n`);
      if (s.status !== 'ok') process.exitCode = EXIT.unavailable;
    });
}

export function renderStatus(s: StatusReport): string {
  const head = s.status === 'ok' ? green('ok') : red(s.status);
  const lines = [
    `machine-gateway  ${head}  up ${duration(s.uptime_s)}  ${dim(`pid ${s.pid}, node ${s.node}, since ${s.started_at}`)}`,
    ...s.problems.map((p) => `  ${red('!')} ${p}`),
    `devices   ${s.devices.online}/${s.devices.total} online${s.devices.offline.length > 0 ? `  ${dim(`offline: ${s.devices.offline.join(', ')}`)}` : ''}`,
    `clients   ${s.clients}`,
    ...(s.consumers ?? []).map((c) => {
      const k = c.counters;
      const store = k['queued'] === undefined ? '' : `  queued ${k['queued']}, forwarded ${k['forwarded_total'] ?? 0}, dropped ${k['dropped_total'] ?? 0}`;
      return `${c.name.padEnd(9)} ${c.ok ? green('up') : red('down')}${c.reason === undefined ? '' : `  ${c.reason}`}${dim(store)}`;
    }),
    '',
    table(
      ['DRIVER', 'DEVICES', 'LAST PROGRESS', 'COUNTERS'],
      s.drivers.map((d) => [
        d.id,
        String(d.devices),
        d.last_progress_age_s === null ? 'never' : `${d.last_progress_age_s.toFixed(1)} s ago`,
        // Per-device counters (`device:<id>:<name>`) are for /metrics and --json; the table keeps one line per driver.
        Object.entries(d.counters)
          .filter(([k]) => !k.startsWith('device:'))
          .map(([k, v]) => `${k}=${v}`)
          .join(' '),
      ]),
    ),
  ];
  return lines.join('\n');
}

function duration(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${seconds % 60}s`;
}
