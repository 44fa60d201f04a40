/**
 * `mgw history DEVICE [POINT] --since 1h [--csv]`: a device's history from the running gateway
 * (GET /api/v1/devices/{id}/history with from/to), as a table, JSON (--json) or CSV (--csv).
 */
import type { Command } from 'commander';
import { api } from '../api.js';
import { CliError, EXIT } from '../exit.js';
import { dim, table } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { toCsv, type StoreAnswer } from '../../historian/query.js';

interface HistoryOptions {
  since: string;
  until?: string;
  resolution?: string;
  maxPoints?: string;
  csv?: boolean;
}

/** `1h`, `90m`, `7d`, `300` (seconds) mean "that long ago"; an epoch time passes as it is. */
export function sinceParam(since: string): string {
  const s = since.trim();
  if (/^\d+(\.\d+)?[smhd]?$/.test(s) && Number.parseFloat(s) < 1e8) return `-${s}`;
  if (/^\d+(\.\d+)?$/.test(s) || s === 'now') return s;
  throw new CliError(`--since must be a duration (30s, 15m, 1h, 7d) or seconds since the epoch, got ${JSON.stringify(since)}`, EXIT.usage);
}

export function registerHistory(program: Command, globals: () => GlobalOptions): void {
  program
    .command('history')
    .description('history of a device (all points with history, or one) from the gateway\'s store')
    .argument('<device>', 'device id')
    .argument('[point]', 'one point (default: every point with history)')
    .option('--since <when>', 'how far back: 30s, 15m, 1h, 7d, or seconds since the epoch', '1h')
    .option('--until <when>', 'end: a duration back from now, seconds since the epoch, or now', 'now')
    .option('--resolution <r>', 'raw, 1m or 1h (default: picked for --max-points)')
    .option('--max-points <n>', 'buckets per point when no --resolution is given', '1000')
    .option('--csv', 'print CSV (time, point, value, min, max, count, quality) for a spreadsheet')
    .action(async (device: string, point: string | undefined, opts: HistoryOptions) => {
      const g = globals();
      const params = new URLSearchParams({ from: sinceParam(opts.since), to: sinceParam(opts.until ?? 'now') });
      if (point !== undefined) params.set('points', point);
      if (opts.resolution !== undefined) params.set('resolution', opts.resolution);
      else if (opts.maxPoints !== undefined) params.set('max_points', opts.maxPoints);
      const answer = await api<StoreAnswer & { device_id: string }>(g, 'GET', `api/v1/devices/${encodeURIComponent(device)}/history?${params.toString()}`);
      if (opts.csv) process.stdout.write(toCsv(device, answer.points));
      else if (g.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
      else process.stdout.write(`${renderHistory(answer)}\n`);
    });
}

export function renderHistory(a: StoreAnswer & { device_id: string }): string {
  const rows: string[][] = [];
  const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '' : String(+x.toFixed(4)));
  for (const [name, s] of Object.entries(a.points)) {
    for (let i = 0; i < s.t.length; i++) {
      rows.push([new Date(s.t[i]! * 1000).toLocaleString(), name, fmt(s.v[i]), fmt(s.min?.[i]), fmt(s.max?.[i]), s.n === undefined ? '' : String(s.n[i]), s.q?.[i] ?? 'good']);
    }
  }
  const res = a.bucket_s === null ? a.resolution : `${a.bucket_s} s buckets from the ${a.resolution} tier`;
  return [dim(`${a.device_id}  ${new Date(a.from * 1000).toLocaleString()} .. ${new Date(a.to * 1000).toLocaleString()}  ${res}`), table(['TIME', 'POINT', 'VALUE', 'MIN', 'MAX', 'N', 'QUALITY'], rows)].join('\n');
}
