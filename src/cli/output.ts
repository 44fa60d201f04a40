/**
 * Human output: plain tables, colour only on a terminal and without NO_COLOR. An empty
 * NO_COLOR does not count (no-color.org: "when present and not an empty string").
 */
import type { Quality } from '../protocol/wire.js';

/** One line of output on stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env['NO_COLOR'] && process.env['TERM'] !== 'dumb';
}

export function paint(text: string, code: number, on = useColor()): string {
  return on ? `\x1b[${code}m${text}\x1b[0m` : text;
}

export const green = (s: string) => paint(s, 32);
export const red = (s: string) => paint(s, 31);
export const yellow = (s: string) => paint(s, 33);
export const dim = (s: string) => paint(s, 2);

const ANSI = /\x1b\[[0-9;]*m/g;

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').replace(ANSI, '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - c.replace(ANSI, '').length)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatValue(value: unknown, unit?: string): string {
  if (value === null || value === undefined) return '-';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return unit ? `${text} ${unit}` : text;
}

/**
 * A value marked by its quality: `1200 rpm [stale]`, `- [bad]`. The mark is a word, so it reads
 * the same piped, with NO_COLOR and to a screen reader; colour only adds to it. A good value (or
 * one from a gateway that states no quality) is shown as it is.
 */
export function formatQualified(value: unknown, quality: Quality | undefined, unit?: string): string {
  const text = formatValue(value, unit);
  if (quality === undefined || quality === 'good') return text;
  const mark = `[${quality}]`;
  return `${dim(text)} ${quality === 'bad' ? red(mark) : yellow(mark)}`;
}

export function age(lastUpdate: number | null | undefined, nowS = Date.now() / 1000): string {
  if (lastUpdate === null || lastUpdate === undefined) return 'never';
  const s = Math.max(0, nowS - lastUpdate);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}
