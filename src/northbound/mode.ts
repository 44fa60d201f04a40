/**
 * What a northbound mode (Sparkplug B, plain JSON) supplies to the publisher core in index.ts.
 * The core owns the broker link, the store-and-forward and the order of things; a mode only
 * turns diffs and snapshots into MQTT messages and handles what arrives on its topics.
 */
import type { Packet } from 'mqtt';
import type { DeviceDiff } from '../core/registry.js';
import type { OutMessage, Subscription } from './link.js';

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
