/**
 * What a GatewayClient tells its listeners: the payload of each event and its counters.
 */
import type { GatewayClientError } from './errors.js';
import type { DeviceUpdateData, DeviceView, Topic } from './types.js';
import type { AlarmTopicMessage } from '../protocol/alarms.js';

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

export interface ConnectionEvent {
  state: ConnectionState;
  /** Failed attempts since the last established connection. */
  attempt: number;
  /** reconnecting: the wait before the next attempt (ms). */
  delayMs?: number;
  /** reconnecting/closed: the close code and reason of the socket that went away. */
  code?: number;
  reason?: string;
  /** connected: the server instance, and whether this connection resumed an earlier one. */
  instance?: string;
  resumed?: boolean;
}

export interface UpdateEvent {
  device_id: string;
  seq: number;
  action: DeviceUpdateData['action'];
  previous_state: DeviceUpdateData['previous_state'];
  new_state: DeviceUpdateData['new_state'];
  /** Points whose quality changed with this update, and to what (absent when none did; `new_state` may then be empty). */
  quality?: DeviceUpdateData['quality'];
  /** Seconds since the epoch. */
  timestamp: number;
  /** The device after the update (the client's live object: read it, do not change it). */
  device: DeviceView;
}

export type ResyncReason =
  /** the first snapshot of a device */
  | 'initial'
  /** the server restarted: seqs began anew */
  | 'new_instance'
  /** the server no longer held every missed diff (replay ring overflow) */
  | 'replay_unavailable'
  /** an update skipped a seq; the missed ones were fetched again */
  | 'gap';

export interface ResyncEvent {
  device_id: string;
  reason: ResyncReason;
  /** The device's seq after the resync. */
  seq: number;
  /** true: the state was replaced by a snapshot; false: the missed diffs were replayed. */
  snapshot: boolean;
  device: DeviceView;
}

export interface DeviceEvent {
  device_id: string;
  device: DeviceView;
}

export interface SyncedEvent {
  instance: string | undefined;
  resumed: boolean;
}

/** A message of a topic besides devices (`alarms`): its `subscribed` answer and its events, as sent. */
/** A message of a followed topic, as the protocol types it (src/protocol/alarms.ts). */
export interface TopicEvent {
  topic: Topic;
  message: AlarmTopicMessage;
}

export interface ClientEvents extends Record<string, unknown> {
  update: UpdateEvent;
  online: DeviceEvent;
  offline: DeviceEvent;
  resync: ResyncEvent;
  /** A device the server no longer has (after a restart with another configuration). */
  removed: { device_id: string };
  connection: ConnectionEvent;
  /** Every subscription of the current connection is in step again (after connect or resume). */
  synced: SyncedEvent;
  /** An error the server reported on the WebSocket, or a listener that threw. */
  error: GatewayClientError;
  /** A message of a topic followed with followTopic(). */
  topic: TopicEvent;
}

export interface ClientStats {
  connects: number;
  reconnects: number;
  updates: number;
  duplicates: number;
  gaps: number;
  resyncs: number;
  replayed: number;
  /** Times the gateway refused a request for its message rate (the client then slowed down). */
  throttled: number;
}
