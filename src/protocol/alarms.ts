/**
 * The alarm shapes every face shares: the REST and WebSocket API (the `alarms` topic's
 * messages at the end), the CLI, the HMI and the northbound publishers. Browser-safe (no
 * imports): the HMI compiles this file too.
 *
 * States follow ISA-18.2 / IEC 62682 (the alarm state transition diagram):
 *   normal          A  process normal, acknowledged
 *   active_unack    B  in alarm, not yet acknowledged
 *   active_ack      C  in alarm, acknowledged
 *   rtn_unack       D  returned to normal, not yet acknowledged
 *   shelved         E  suppressed by an operator for a limited time
 *   out_of_service  G  taken out of service by an administrator
 * (F, suppressed by design, and latching are not used by the gateway.)
 */

export const ALARM_PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;
export type AlarmPriority = (typeof ALARM_PRIORITIES)[number];

export const ALARM_STATES = ['normal', 'active_unack', 'active_ack', 'rtn_unack', 'shelved', 'out_of_service'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/**
 * What an alarm watches: an analog limit, a discrete value (a fault bit or one fault code), the
 * quality of a point (its reading is stale or bad while the device answers), or the device's
 * reachability.
 */
export type AlarmKind = 'hihi' | 'hi' | 'lo' | 'lolo' | 'discrete' | 'quality' | 'offline';

/** Why a transition happened. */
export type AlarmTransition =
  | 'raise'
  | 'clear'
  | 'ack'
  | 'shelve'
  | 'unshelve'
  | 'shelve_expired'
  | 'out_of_service'
  | 'return_to_service'
  /** The alarm is no longer configured (a reload removed it): it leaves the list. */
  | 'removed';

export type AlarmValue = number | boolean | string | null;

/** Who did an operator action (token name; "anonymous" on a gateway without tokens) and from where. */
export interface AlarmActor {
  token: string;
  remote: string | null;
}

/**
 * One alarm as the list shows it (GET /api/v1/alarms, the WebSocket snapshot, `mgw alarms`).
 * Times are seconds since the epoch, as every API timestamp.
 */
export interface AlarmView {
  /** `<device>.<point>.<kind>` (`motor_01.current.hi`), `<device>.<point>.<code>` for a fault code, `<device>.offline`. */
  id: string;
  device_id: string;
  point: string | null;
  kind: AlarmKind;
  priority: AlarmPriority;
  message: string;
  state: AlarmState;
  /** Whether the condition is present now (also while shelved or out of service). */
  active: boolean;
  acked: boolean;
  ack_required: boolean;
  /** The value that caused the last raise or clear. */
  value: AlarmValue;
  /** The limit of an analog alarm, the value a discrete alarm watches for. */
  limit: AlarmValue;
  unit: string | null;
  /** When the condition last became active (null: never since it was last normal). */
  active_since: number | null;
  /** When the state last changed. */
  last_change: number;
  shelved_until: number | null;
  shelved_by: string | null;
  comment: string | null;
}

/**
 * One transition: journal line, WebSocket `alarm_event`, and what a northbound publisher sends.
 * It carries everything a receiver needs without asking the gateway back (device, point,
 * priority, message, value, limit, unit), so a plain-JSON MQTT publisher can send it as it is
 * (a topic per alarm, e.g. `<prefix>/<device_id>/alarm/<alarm_id>`) and a Sparkplug edge node
 * can map `state`, `active`, `acked` and `priority` to metrics of the device.
 */
export interface AlarmEvent {
  /** +1 per transition, gateway-wide; survives restarts (kept with the alarm state). */
  seq: number;
  time: number;
  alarm_id: string;
  device_id: string;
  point: string | null;
  kind: AlarmKind;
  priority: AlarmPriority;
  message: string;
  transition: AlarmTransition;
  from: AlarmState;
  to: AlarmState;
  active: boolean;
  acked: boolean;
  value: AlarmValue;
  limit: AlarmValue;
  unit: string | null;
  /** For ack, shelve, unshelve, out of service, return to service: who did it. */
  by: AlarmActor | null;
  comment: string | null;
  shelved_until: number | null;
}

/** GET /api/v1/alarms */
export interface AlarmListReply {
  alarms: AlarmView[];
  count: number;
  /** Seq of the last transition: a WebSocket subscriber resumes after it. */
  seq: number;
  counts: Record<AlarmPriority, number>;
  unacked: number;
}

/** GET /api/v1/alarms/events */
export interface AlarmEventsReply {
  events: AlarmEvent[];
  count: number;
  /** Pass as `before` for the next (older) page; null when there is none. */
  next_before: number | null;
}

/** POST ack / shelve / unshelve / out_of_service / return_to_service */
export interface AlarmActionReply {
  /** The alarms that changed, as they are now. */
  alarms: AlarmView[];
  changed: number;
  /** Ids named (or matched) that were already in the asked state, with why. */
  unchanged: { id: string; reason: string }[];
}

/**
 * The `alarms` WebSocket topic: `{"action": "subscribe", "topic": "alarms", "since": 41}`.
 * The answer: the transitions after `since` (`alarm_event`s), then `subscribed` with `replayed`;
 * or, without `since` or when it is no longer held, `subscribed` with the list (the fields of
 * GET /api/v1/alarms), marked `resync` when a `since` could not be served.
 */
export interface AlarmEventMessage {
  type: 'alarm_event';
  topic: 'alarms';
  /** The event's seq, as in `event.seq`: resume after it. */
  seq: number;
  event: AlarmEvent;
  timestamp: number;
}

export interface AlarmsSubscribedMessage extends Partial<Omit<AlarmListReply, 'seq'>> {
  type: 'subscribed';
  topic: 'alarms';
  /** Seq of the last transition: the next subscribe resumes after it. */
  seq: number;
  /** Transitions sent before this message (a resume); absent when the list is sent. */
  replayed?: number;
  /** `since` could not be served (older than the journal holds): start over from the list. */
  resync?: boolean;
  id?: string | number;
  timestamp: number;
}

export interface AlarmsUnsubscribedMessage {
  type: 'unsubscribed';
  topic: 'alarms';
  id?: string | number;
  timestamp: number;
}

/** Every message of the `alarms` topic. */
export type AlarmTopicMessage = AlarmEventMessage | AlarmsSubscribedMessage | AlarmsUnsubscribedMessage;

/** Sort order of the list: priority first (critical on top), then the newest first. */
export const PRIORITY_RANK: Record<AlarmPriority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

export function compareAlarms(a: AlarmView, b: AlarmView): number {
  return PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || (b.active_since ?? b.last_change) - (a.active_since ?? a.last_change) || (a.id < b.id ? -1 : 1);
}

/** Whether the alarm asks for an operator's attention (it counts in the banner and the list). */
export function isUnacked(a: { state: AlarmState }): boolean {
  return a.state === 'active_unack' || a.state === 'rtn_unack';
}
