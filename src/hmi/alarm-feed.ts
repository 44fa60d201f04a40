/**
 * The page's live alarm list: one small WebSocket subscribed to the `alarms` topic only (no
 * device topics), which keeps the list from the snapshot and every `alarm_event`, and on a
 * drop reconnects with backoff and resumes after the last seq it applied.
 */
import { backoffDelay } from '../client/backoff.js';
import type { AlarmEvent, AlarmListReply, AlarmView } from '../alarms/model.js';

export interface AlarmFeedOptions {
  token: string | null;
  /** After every change: the list, and the event that caused it (none for a snapshot). */
  onChange: (event: AlarmEvent | undefined) => void;
}

export class AlarmFeed {
  readonly alarms = new Map<string, AlarmView>();
  private seq: number | undefined;
  private attempt = 0;
  private socket: WebSocket | undefined;

  constructor(private readonly options: AlarmFeedOptions) {}

  start(): void {
    const url = `${location.origin.replace(/^http/, 'ws')}/ws/devices?devices=`;
    // The token rides in a subprotocol beside mgw.v1, the name the gateway echoes (never the token).
    const ws = this.options.token ? new WebSocket(url, ['mgw.v1', `bearer.${this.options.token}`]) : new WebSocket(url);
    this.socket = ws;
    ws.onopen = () => {
      this.attempt = 0;
      ws.send(JSON.stringify({ action: 'subscribe', topic: 'alarms', ...(this.seq === undefined ? {} : { since: this.seq }) }));
    };
    ws.onmessage = (m) => this.message(JSON.parse(String(m.data)) as Record<string, unknown>);
    ws.onclose = () => {
      if (this.socket !== ws) return;
      window.setTimeout(() => this.start(), backoffDelay(this.attempt++, { maxMs: 4000 }));
    };
  }

  list(): AlarmView[] {
    return [...this.alarms.values()];
  }

  private message(m: Record<string, unknown>): void {
    if (m['type'] === 'subscribed' && m['topic'] === 'alarms') {
      this.seq = m['seq'] as number;
      const list = m['alarms'] as AlarmListReply['alarms'] | undefined;
      if (list !== undefined) {
        this.alarms.clear();
        for (const a of list) this.alarms.set(a.id, a);
        this.options.onChange(undefined);
      }
    } else if (m['type'] === 'alarm_event') {
      const e = m['event'] as AlarmEvent;
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
