/**
 * The alarm system's figures for /metrics (EEMUA 191 / ISA-18.2 performance measures): alarms
 * annunciated by priority, unacknowledged, shelved, out of service, the rate per 10 minutes,
 * standing alarms and chattering alarms. One pass over the table per scrape.
 */
import { ALARM_PRIORITIES } from '../protocol/alarms.js';
import type { AlarmService } from '../alarms/service.js';

export interface MetricFamily {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: [Record<string, string>, number][];
}

export function alarmMetrics(alarms: AlarmService, nowS = Date.now() / 1000): MetricFamily[] {
  const list = alarms.list();
  const active = Object.fromEntries(ALARM_PRIORITIES.map((p) => [p, 0])) as Record<string, number>;
  let unacked = 0;
  let shelved = 0;
  let outOfService = 0;
  let standing = 0;
  for (const a of list) {
    if (a.state === 'shelved') shelved++;
    else if (a.state === 'out_of_service') outOfService++;
    else {
      active[a.priority]!++;
      if (a.state === 'active_unack' || a.state === 'rtn_unack') unacked++;
    }
    if (a.active && a.active_since !== null && nowS - a.active_since > alarms.standingAfterS) standing++;
  }
  const s = alarms.stats;
  const h = alarms.health().counters ?? {};
  return [
    { name: 'mgw_alarms_active', type: 'gauge', help: 'Alarms annunciated now (active or returned, not yet normal; shelved and out of service not counted), by priority.', samples: ALARM_PRIORITIES.map((p) => [{ priority: p }, active[p]!]) },
    { name: 'mgw_alarms_unacknowledged', type: 'gauge', help: 'Alarms waiting for an acknowledgement.', samples: [[{}, unacked]] },
    { name: 'mgw_alarms_shelved', type: 'gauge', help: 'Alarms shelved by an operator.', samples: [[{}, shelved]] },
    { name: 'mgw_alarms_out_of_service', type: 'gauge', help: 'Alarms taken out of service.', samples: [[{}, outOfService]] },
    { name: 'mgw_alarm_rate_10m', type: 'gauge', help: 'Alarms raised in the last 10 minutes (EEMUA 191: about 1 per 10 minutes per operator is manageable; more, sustained, overloads).', samples: [[{}, s.rate10m()]] },
    { name: 'mgw_alarms_raised_total', type: 'counter', help: 'Alarms raised since start.', samples: [[{}, s.raisedTotal]] },
    { name: 'mgw_alarm_transitions_total', type: 'counter', help: 'Alarm state transitions since start (raise, clear, ack, shelve, ...).', samples: [[{}, s.transitionsTotal]] },
    { name: 'mgw_alarms_standing', type: 'gauge', help: 'Alarms active for longer than alarms.standing_after_s (EEMUA 191: 24 h).', samples: [[{}, standing]] },
    { name: 'mgw_alarms_chattering', type: 'gauge', help: 'Alarms raised 3 or more times within the last minute.', samples: [[{}, s.chatteringNow().length]] },
    { name: 'mgw_alarm_chatter_detections_total', type: 'counter', help: 'Times an alarm was found chattering (3+ raises within a minute).', samples: [[{}, s.chatterDetections]] },
    { name: 'mgw_alarm_journal_errors_total', type: 'counter', help: 'Failed writes of the alarm journal (the state directory is full or read-only).', samples: [[{}, h['journal_errors'] ?? 0]] },
  ];
}
