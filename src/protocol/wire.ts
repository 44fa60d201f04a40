/**
 * The shapes the gateway sends and accepts (PROTOCOL.md), declared once: the server builds its
 * replies from these types and the typed client, the CLI and the HMI read them, so a field added
 * on one side and not the other is a compile error. Browser-safe: no Node imports.
 */
import type { AlarmTopicMessage } from './alarms.js';
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

export type PointType = 'number' | 'integer' | 'boolean' | 'string' | 'enum';
export type Access = 'r' | 'rw';

/** A point's metadata as the gateway declares it (src/core/points.ts validates writes against it). */
export interface PointMeta {
  type: PointType;
  access: Access;
  unit?: string | undefined;
  min?: number | undefined;
  max?: number | undefined;
  /** For type 'enum': the allowed labels. Values are the labels themselves. */
  enum?: readonly string[] | undefined;
  /**
   * For type 'enum' whose labels stand for numbers on the device (a Modbus register, a line
   * device's "0"/"1"): the number of each label, in the order of `enum`. A write may give the
   * number instead of the label; it is stored as the label.
   */
  enum_codes?: readonly number[] | undefined;
  description?: string | undefined;
  /**
   * true: the HMI asks for a confirmation before a write (the config's `confirm`); false: it does
   * not, even for Start/Stop of a run command (which asks when this is absent).
   */
  confirm?: boolean | undefined;
  /**
   * Digits after the decimal point the value is known to: the resolution of the reading (a Modbus
   * register with scale 0.1 has one), so every display shows the same digits the device gives.
   * Absent when the source does not say (a float, a simulator point without a declared one).
   */
  decimals?: number | undefined;
  /**
   * The field type the value is read from, when the value is that raw number unscaled (a Modbus
   * `int16` register with scale 1): northbound Sparkplug names it as its datatype.
   */
  source_type?: 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'bit' | undefined;
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
  /** The plant area and production line of the device (config `area`, `line`); absent when not configured. */
  area?: string;
  line?: string;
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

/**
 * A device as the welcome states it: its values, qualities and seq. `points` (the metadata) is
 * left out when it is the one its device type has in the welcome's `device_types`, so 100
 * devices of four types carry four copies of the metadata, not 100. `devicesOfWelcome()`
 * (src/protocol/welcome.ts) gives the full views back.
 */
export type DeviceValues = Omit<DeviceView, 'points'> & { points?: Record<string, PointMeta> };

/** The point metadata shared by every device of one `device_type` (those that differ carry their own). */
export interface DeviceTypeMeta {
  points: Record<string, PointMeta>;
}

export interface ConnectionEstablishedMessage {
  type: 'connection_established';
  message: string;
  timestamp: number;
  total_connections: number;
  client_id?: string;
  instance?: string;
  devices?: DeviceValues[];
  /** The point metadata of each device type named in `devices`, once. */
  device_types?: Record<string, DeviceTypeMeta>;
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
  /** Sent with `resync`: the seq the snapshot reflects, as in `data.seq`. */
  seq?: number;
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
  | AlarmTopicMessage
  | { type: 'pong' | 'unsubscribed'; id?: string | number; device_id?: string; timestamp: number };

/**
 * The REST control reply: the ADR's update shape once the device confirmed the write, with the
 * `seq` of the diff that carried it (or the device's current seq when nothing changed).
 */
export interface ControlResult extends Omit<DeviceUpdateData, 'action' | 'quality'> {
  action: 'device_control';
  seq: number;
}

/** A request id the client may put on any message; the reply carries it back. */
export type RequestId = string | number;

/**
 * Topics besides devices: `{"action": "subscribe", "topic": "alarms", "since": 41}`. A topic is
 * never a device id, so a device may be called "alarms".
 */
export const TOPICS = ['alarms'] as const;
export type Topic = (typeof TOPICS)[number];

/** One device of a batch subscribe: its id and the last seq the client applied (null: no `since`). */
export interface BatchEntry {
  device_id: string;
  since: number | null;
}

/** What a client sends on the WebSocket, as the server has checked it. */
export type ClientMessage =
  | { action: 'subscribe'; device_id: string; since?: number; instance?: string; id?: RequestId }
  | { action: 'subscribe'; devices: BatchEntry[]; instance?: string; id?: RequestId }
  | { action: 'subscribe'; topic: Topic; since?: number; id?: RequestId }
  | { action: 'unsubscribe'; topic: Topic; id?: RequestId }
  | { action: 'unsubscribe'; device_id: string; id?: RequestId }
  | { action: 'get_status'; device_id: string; id?: RequestId }
  | { action: 'get_all_status'; id?: RequestId }
  | { action: 'ping'; id?: RequestId };

/**
 * POST /api/v1/admin/reload (and `mgw reload`): what the reload changed, or (ok: false, sent as
 * 422 invalid_config) every problem of the refused file.
 */
export type ReloadOutcome =
  | {
      ok: true;
      file: string;
      restart_required: string[];
      drivers_restarted: string[];
      drivers_started: string[];
      drivers_stopped: string[];
      devices_added: string[];
      devices_removed: string[];
      errors: string[];
    }
  | { ok: false; file: string; problems: string[] };
