/**
 * How an alarm looks on the page: a shape and a word for each priority and state, so that no
 * meaning is carried by colour alone (EEMUA 191; colour-blind operators), and its texts.
 */
import { formatClock } from './format.js';
import type { AlarmPriority, AlarmState, AlarmView } from '../protocol/alarms.js';

export const PRIORITY_ICON: Record<AlarmPriority, string> = { critical: '◆', high: '▲', medium: '●', low: '▼' };
export const PRIORITY_WORD: Record<AlarmPriority, string> = { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low' };

export const STATE_WORD: Record<AlarmState, string> = {
  normal: 'Normal',
  active_unack: 'Unacknowledged',
  active_ack: 'Acknowledged',
  rtn_unack: 'Cleared, unacknowledged',
  shelved: 'Shelved',
  out_of_service: 'Out of service',
};
export const STATE_ICON: Record<AlarmState, string> = { normal: '', active_unack: '!', active_ack: '✓', rtn_unack: '!', shelved: '‖', out_of_service: '×' };

/** Short form of what the alarm watches, for a card's point. */
export function kindWord(a: Pick<AlarmView, 'kind'>): string {
  switch (a.kind) {
    case 'hihi':
      return 'HH';
    case 'hi':
      return 'H';
    case 'lo':
      return 'L';
    case 'lolo':
      return 'LL';
    case 'quality':
      return '?';
    case 'offline':
      return 'OFF';
    case 'discrete':
      return 'ALM';
  }
}

export function timeOf(s: number | null): string {
  return s === null ? '' : formatClock(new Date(s * 1000));
}

export function valueText(a: Pick<AlarmView, 'value' | 'unit'>): string {
  if (a.value === null) return '';
  const v = typeof a.value === 'number' ? String(Math.round(a.value * 100) / 100) : String(a.value);
  return a.unit ? `${v} ${a.unit}` : v;
}
