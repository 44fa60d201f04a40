/**
 * The saved alarm state brought up to date from the journal. The journal gets each transition
 * first (written at once, in order); the state file follows within milliseconds, coalesced. A
 * crash (`kill -9`, an OOM kill) in between leaves transitions in the journal that the state
 * file does not have: folded in here, in seq order, at start, so an alarm that came and went
 * unacknowledged, or an acknowledgement, is not lost with the process.
 */
import type { AlarmEvent } from '../protocol/alarms.js';
import type { PersistedAlarm, PersistedTable } from './table.js';

export function replayJournal(saved: PersistedTable | undefined, events: readonly AlarmEvent[]): PersistedTable | undefined {
  const newer = events.filter((e) => e.seq > (saved?.seq ?? 0)).sort((a, b) => a.seq - b.seq);
  if (newer.length === 0) return saved;
  const alarms = new Map((saved?.alarms ?? []).map((a) => [a.id, { ...a }]));
  let seq = saved?.seq ?? 0;
  for (const e of newer) {
    seq = Math.max(seq, e.seq);
    if (e.transition === 'removed') {
      alarms.delete(e.alarm_id);
      continue;
    }
    const prev = alarms.get(e.alarm_id);
    const shelved = e.to === 'shelved';
    const operator = e.by !== null;
    const next: PersistedAlarm = {
      id: e.alarm_id,
      active: e.active,
      acked: e.acked,
      shelved,
      out_of_service: e.to === 'out_of_service',
      value: e.value,
      active_since: !e.active ? null : e.transition === 'raise' ? e.time : (prev?.active_since ?? e.time),
      last_change: e.time,
      shelved_until: shelved ? e.shelved_until : null,
      shelved_by: !shelved ? null : e.transition === 'shelve' ? (e.by?.token ?? null) : (prev?.shelved_by ?? null),
      comment: operator ? e.comment : (prev?.comment ?? null),
    };
    alarms.set(e.alarm_id, next);
  }
  return { seq, alarms: [...alarms.values()] };
}
