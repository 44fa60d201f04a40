/** How values and ages read on the panel. */
import type { PointMeta, PointValue } from './types.js';

export function formatValue(value: PointValue | undefined, meta: PointMeta | undefined): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'boolean') return value ? 'ON' : 'OFF';
  if (typeof value === 'number') {
    if (meta?.type === 'integer') return String(Math.round(value));
    const abs = Math.abs(value);
    const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : 2;
    return value.toFixed(digits);
  }
  return value;
}

/** "3 s", "2 min", "1 h 5 min": short enough for a card corner. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d`;
}

/** A point name as a label: "actual_speed" -> "Actual speed". */
export function label(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
