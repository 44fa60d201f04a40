/**
 * The page's live alarm list, on the page's one WebSocket (the device client's): it follows the
 * `alarms` topic there, keeps the list from the snapshot and every `alarm_event`, and after a
 * reconnect (the client's) resumes after the last seq it applied.
 */
import type { AlarmEvent, AlarmTopicMessage, AlarmView } from '../protocol/alarms.js';
import type { TopicEvent } from '../client/events.js';

export interface AlarmFeedOptions {
  /** After every change: the list, and the event that caused it (none for a snapshot). */
  onChange: (event: AlarmEvent | undefined) => void;
}

/** What the feed needs of the page's connection (a GatewayClient). */
export interface TopicConnection {
  followTopic(topic: 'alarms', since: () => number | undefined): void;
  on(event: 'topic', listener: (e: TopicEvent) => void): unknown;
}

export class AlarmFeed {
  readonly alarms = new Map<string, AlarmView>();
  private seq: number | undefined;

  constructor(private readonly options: AlarmFeedOptions) {}

  /** Follows the `alarms` topic on the page's connection (call before it starts). */
  attach(connection: TopicConnection): void {
    connection.on('topic', (t) => {
      if (t.topic === 'alarms') this.message(t.message);
    });
    connection.followTopic('alarms', () => this.seq);
  }

  list(): AlarmView[] {
    return [...this.alarms.values()];
  }

  private message(m: AlarmTopicMessage): void {
    if (m.type === 'subscribed') {
      this.seq = m.seq;
      if (m.alarms !== undefined) {
        this.alarms.clear();
        for (const a of m.alarms) this.alarms.set(a.id, a);
        this.options.onChange(undefined);
      }
    } else if (m.type === 'alarm_event') {
      const e = m.event;
      if (this.seq !== undefined && e.seq <= this.seq) return;
      this.seq = e.seq;
      this.apply(e);
      this.options.onChange(e);
    }
  }

  private apply(e: AlarmEvent): void {
    if (e.to === 'normal' || e.transition === 'removed') {
      this.alarms.delete(e.alarm_id);
      return;
    }
    const old = this.alarms.get(e.alarm_id);
    this.alarms.set(e.alarm_id, {
      id: e.alarm_id,
      device_id: e.device_id,
      point: e.point,
      kind: e.kind,
      priority: e.priority,
      message: e.message,
      state: e.to,
      active: e.active,
      acked: e.acked,
      ack_required: old?.ack_required ?? true,
      value: e.value,
      limit: e.limit,
      unit: e.unit,
      active_since: e.transition === 'raise' ? e.time : (old?.active_since ?? (e.active ? e.time : null)),
      last_change: e.time,
      shelved_until: e.shelved_until,
      shelved_by: e.to === 'shelved' ? (e.by?.token ?? old?.shelved_by ?? null) : null,
      comment: e.by !== null ? e.comment : (old?.comment ?? null),
    });
  }
}
