/**
 * The shapes the gateway sends and accepts (PROTOCOL.md), declared here without importing the
 * server so that the client bundles for the browser on its own.
 */
export type PointValue = number | boolean | string | null;

/**
 * How far a point's value can be trusted (the gateway's src/core/points.ts says it in full):
 * `good` the device's value as of its last read; `stale` the last good value, kept, but the read
 * that should have refreshed it failed or the device is offline; `bad` the device answered but
 * the value cannot be used (an exception, a reply that does not decode, out of range);
 * `uncertain` not confirmed by a read. The value and `last_update` stay those of the last good
 * reading whatever the quality.
 */
export type Quality = 'good' | 'stale' | 'bad' | 'uncertain';

export interface PointMeta {
  type: 'number' | 'integer' | 'boolean' | 'string' | 'enum';
  access: 'r' | 'rw';
  unit?: string;
  min?: number;
  max?: number;
  enum?: readonly string[];
  /** The number of each `enum` label on the device, where it has one; a write may give it instead of the label. */
  enum_codes?: readonly number[];
  description?: string;
  /** Digits after the decimal point the value is known to (its resolution), where the gateway knows it. */
  decimals?: number;
}

/** A device as REST and WebSocket snapshots show it; `seq` is the diff the snapshot reflects. */
export interface DeviceView {
  device_id: string;
  device_type: string;
  name: string;
  state: Record<string, PointValue>;
  online: boolean;
  /** Seconds since the epoch, or null before the first reading. */
  last_update: number | null;
  seq: number;
  points: Record<string, PointMeta>;
  /**
   * The quality of every point read at least once (or refused by the device). A gateway from
   * before qualities sends none; read it through `pointQuality()`, which says `good` there.
   */
  quality?: Record<string, Quality>;
}

export type UpdateAction = 'device_control' | 'poll' | 'stream' | 'status';

/** The ADR's update shape; `online` transitions appear in the states as a boolean. */
export interface DeviceUpdateData {
  device_id: string;
  device_type: string;
  previous_state: Record<string, PointValue | boolean>;
  new_state: Record<string, PointValue | boolean>;
  changed: boolean;
  action: UpdateAction;
  /**
   * The new quality of each point whose quality changed with this diff (absent when none did).
   * A diff may change qualities only: then `new_state` is empty.
   */
  quality?: Record<string, Quality>;
}

export interface ConnectionEstablishedMessage {
  type: 'connection_established';
  message: string;
  timestamp: number;
  total_connections: number;
  client_id?: string;
  instance?: string;
  devices?: DeviceView[];
}

export interface DeviceUpdateMessage {
  type: 'device_update';
  device_id: string;
  data: DeviceUpdateData;
  timestamp: number;
  seq: number;
}

export interface SubscribedMessage {
  type: 'subscribed';
  device_id: string;
  seq?: number;
  /** Present when the server sent a snapshot rather than (or after) a replay. */
  data?: DeviceView;
  replayed?: number;
  id?: string | number;
  timestamp: number;
}

/** Closes a batch subscribe (`"devices": {…}`): every device of it has been answered. */
export interface SubscribedBatchMessage {
  type: 'subscribed_batch';
  /** Devices in the request; `failed` lists those answered with an error. */
  count: number;
  subscribed: number;
  failed: string[];
  id?: string | number;
  timestamp: number;
}

export interface DeviceStatusMessage {
  type: 'device_status';
  device_id: string;
  data: DeviceView;
  /** The server could not replay from `since` (ring overflow or another instance): start over from `data`. */
  resync?: boolean;
  id?: string | number;
  timestamp: number;
}

export interface AllDevicesStatusMessage {
  type: 'all_devices_status';
  devices: DeviceView[];
  id?: string | number;
  timestamp: number;
}

export interface ErrorMessage {
  type: 'error';
  error_code: string;
  message: string;
  /** Set on the error for one device of a batch subscribe. */
  device_id?: string;
  id?: string | number;
  timestamp: number;
}

export type ServerMessage =
  | ConnectionEstablishedMessage
  | DeviceUpdateMessage
  | SubscribedMessage
  | SubscribedBatchMessage
  | DeviceStatusMessage
  | AllDevicesStatusMessage
  | ErrorMessage
  | { type: 'pong' | 'unsubscribed'; id?: string | number; device_id?: string; timestamp: number };

/** The REST control reply: the ADR's update shape once the device confirmed the write. */
export type ControlResult = DeviceUpdateData;
