/** How values and ages read on the panel. */
import type { PointMeta, PointValue, Quality } from './types.js';

/** What a point's mark says on the card, and the longer reason on hover or long press. */
export const QUALITY_TEXT: Record<Exclude<Quality, 'good'>, { word: string; why: string }> = {
  stale: { word: 'stale', why: 'Stale: the last good reading, not refreshed since (no answer, device offline or no link to the gateway)' },
  bad: { word: 'bad', why: 'Bad: the device answered but the value cannot be used (error reply or unreadable value); the last good reading is shown' },
  uncertain: { word: 'uncertain', why: 'Uncertain: not confirmed by a reading from the device' },
};

export function formatValue(value: PointValue | undefined, meta: PointMeta | undefined): string {
  if (value === undefined || value === null) return '–';
  if (typeof value === 'boolean') return value ? 'ON' : 'OFF';
  if (typeof value === 'number') {
    if (meta?.type === 'integer') return String(Math.round(value));
    return formatNumber(value, meta);
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

/**
 * A number with the digits its point is known to: the resolution the gateway states (scale 0.1:
 * one decimal, so 21.8 °C never reads 22), and `mgw devices` shows the same. A point whose
 * resolution is unknown (a float, a simulator) shows the value as the gateway sends it, to at
 * most three decimals. A range never decides: a register's range says nothing of its resolution.
 */
function formatNumber(value: number, meta: PointMeta | undefined): string {
  if (meta?.decimals !== undefined) return value.toFixed(meta.decimals);
  return String(Number(value.toFixed(MAX_UNSTATED_DECIMALS)));
}

const MAX_UNSTATED_DECIMALS = 3;

/** The plant's one format for times of day (from the gateway; 24-hour until it says). */
let hourCycle: 'h23' | 'h12' = 'h23';

export function setTimeFormat(format: '24h' | '12h' | undefined): void {
  hourCycle = format === '12h' ? 'h12' : 'h23';
}

/** A time of day in the plant's format: "14:05:09" (or "2:05:09 PM"), never the browser's choice. */
export function formatClock(at: Date, seconds = true): string {
  return at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}), hourCycle });
}

/** A date and time of day in the plant's format. */
export function formatDateTime(at: Date): string {
  return at.toLocaleString([], { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle });
}
