/**
 * What a northbound mode (Sparkplug B, plain JSON) supplies to the publisher core in index.ts.
 * The core owns the broker link, the store-and-forward and the order of things; a mode only
 * turns diffs, alarm transitions and snapshots into MQTT messages and handles what arrives on its topics.
 */
import type { Packet } from 'mqtt';
import type { AlarmEvent, AlarmView } from '../protocol/alarms.js';
import type { DeviceDiff } from '../core/registry.js';
import type { OutMessage, Subscription } from './link.js';

/** An alarm transition, as it waits in the store beside the diffs (a diff has no `alarm` field). */
export interface AlarmRecord {
  alarm: AlarmEvent;
}

/** What goes north, in the one order the publisher keeps: a registry diff or an alarm transition. */
export type NorthboundRecord = DeviceDiff | AlarmRecord;

export function isAlarmRecord(r: NorthboundRecord): r is AlarmRecord {
  return (r as Partial<AlarmRecord>).alarm !== undefined;
}

/** The alarms' current state, for births (the alarm table). */
export interface AlarmSource {
  view(id: string): AlarmView | undefined;
  list(filter: { all?: boolean; device?: string }): AlarmView[];
}

export interface NorthboundMode {
  readonly clientId: string;
  /** The Will of the next connection. */
  will(): OutMessage;
  subscriptions(): Subscription[];
  /** A new session: what goes out first (births, retained state), in order. */
  births(): OutMessage[];
  /** A diff published as it happens. */
  live(diff: DeviceDiff): OutMessage[];
  /** A diff that waited in the store: marked as history. */
  historical(diff: DeviceDiff): OutMessage[];
  /** An alarm transition published as it happens. */
  alarmLive(event: AlarmEvent): OutMessage[];
  /** An alarm transition that waited in the store: marked as history. */
  alarmHistorical(event: AlarmEvent): OutMessage[];
  /** The store has drained after (re)connecting: what follows the history (e.g. deaths, current state). */
  afterHistory(): OutMessage[];
  /** Sent before a clean disconnect. */
  farewell(): OutMessage[];
  /** Whether data may go out live now (Sparkplug: the primary host is online). */
  liveAllowed(): boolean;
  /** A message on one of the subscriptions. */
  onMessage(topic: string, payload: Buffer, packet: Packet): void;
  /** Counters of the mode for /metrics. */
  counters(): Record<string, number>;
  /** Why live data is held back, when liveAllowed() is false. */
  holdReason(): string;
  /** A device a reload removed: what to say about it (Sparkplug: its DDEATH). */
  forget?(deviceId: string): OutMessage[];
  /**
   * A reload was applied: every retained message that describes the gateway now, sent again
   * (JSON: status, states, alarm states, Home Assistant configs). Retained topics published
   * before and not in it are emptied. Without this method nothing is sent and all are.
   */
  reannounce?(): OutMessage[];
  /** The broker session ended: what the mode knew from it (Sparkplug: the host's STATE) is unknown again. */
  sessionEnded?(): void;
}

/** What a mode may ask of the core. */
export interface ModeHost {
  /** Publish now, in order with everything else (used for command replies and rebirths). */
  send(messages: OutMessage[]): void;
  /** Start a new session's births again (Sparkplug rebirth, host came back). */
  rebirth(): void;
  /** Re-evaluate liveAllowed() (the primary host changed state). */
  gateChanged(): void;
}
