/**
 * The wire types' fields as data, so a test can hold a real server message against them. Each
 * table is checked by the compiler against its type (every field listed, optional ones marked):
 * a field added to a type and not here, or here and not in the type, does not compile; a field
 * the server sends and the type lacks fails `shapeProblems`.
 */
import type {
  AllDevicesStatusMessage,
  ConnectionEstablishedMessage,
  ControlResult,
  DeviceStatusMessage,
  DeviceTypeMeta,
  DeviceUpdateData,
  DeviceUpdateMessage,
  DeviceValues,
  DeviceView,
  ErrorMessage,
  ServerMessage,
  SubscribedBatchMessage,
  SubscribedMessage,
} from './wire.js';
import type { AlarmEvent, AlarmEventMessage, AlarmsSubscribedMessage, AlarmsUnsubscribedMessage, AlarmView } from './alarms.js';

type OptionalKeys<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? K : never }[keyof T];
/** One entry per field of T: 'optional' for an optional field, else 'required'. */
type FieldTable<T> = { readonly [K in keyof T]-?: K extends OptionalKeys<T> ? 'optional' : 'required' };

export const DEVICE_VIEW_FIELDS = {
  device_id: 'required',
  device_type: 'required',
  name: 'required',
  state: 'required',
  online: 'required',
  last_update: 'required',
  seq: 'required',
  points: 'required',
  quality: 'optional',
  area: 'optional',
  line: 'optional',
} as const satisfies FieldTable<DeviceView>;

export const DEVICE_VALUES_FIELDS = {
  ...DEVICE_VIEW_FIELDS,
  points: 'optional',
} as const satisfies FieldTable<DeviceValues>;

const DEVICE_TYPE_META_FIELDS = {
  points: 'required',
} as const satisfies FieldTable<DeviceTypeMeta>;

export const DEVICE_UPDATE_DATA_FIELDS = {
  device_id: 'required',
  device_type: 'required',
  previous_state: 'required',
  new_state: 'required',
  changed: 'required',
  action: 'required',
  quality: 'optional',
} as const satisfies FieldTable<DeviceUpdateData>;

export const CONTROL_RESULT_FIELDS = {
  device_id: 'required',
  device_type: 'required',
  previous_state: 'required',
  new_state: 'required',
  changed: 'required',
  action: 'required',
  seq: 'required',
} as const satisfies FieldTable<ControlResult>;

const CONNECTION_ESTABLISHED_FIELDS = {
  type: 'required',
  message: 'required',
  timestamp: 'required',
  total_connections: 'required',
  client_id: 'optional',
  instance: 'optional',
  devices: 'optional',
  device_types: 'optional',
} as const satisfies FieldTable<ConnectionEstablishedMessage>;

const DEVICE_UPDATE_FIELDS = {
  type: 'required',
  device_id: 'required',
  data: 'required',
  timestamp: 'required',
  seq: 'required',
} as const satisfies FieldTable<DeviceUpdateMessage>;

const SUBSCRIBED_FIELDS = {
  type: 'required',
  device_id: 'required',
  seq: 'optional',
  data: 'optional',
  replayed: 'optional',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<SubscribedMessage>;

const SUBSCRIBED_BATCH_FIELDS = {
  type: 'required',
  count: 'required',
  subscribed: 'required',
  failed: 'required',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<SubscribedBatchMessage>;

const DEVICE_STATUS_FIELDS = {
  type: 'required',
  device_id: 'required',
  data: 'required',
  seq: 'optional',
  resync: 'optional',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<DeviceStatusMessage>;

const ALL_DEVICES_STATUS_FIELDS = {
  type: 'required',
  devices: 'required',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<AllDevicesStatusMessage>;

const ERROR_FIELDS = {
  type: 'required',
  error_code: 'required',
  message: 'required',
  device_id: 'optional',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<ErrorMessage>;

type PlainReply = Extract<ServerMessage, { type: 'pong' | 'unsubscribed' }>;
const PLAIN_REPLY_FIELDS = {
  type: 'required',
  id: 'optional',
  device_id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<PlainReply>;

export const ALARM_VIEW_FIELDS = {
  id: 'required',
  device_id: 'required',
  point: 'required',
  kind: 'required',
  priority: 'required',
  message: 'required',
  state: 'required',
  active: 'required',
  acked: 'required',
  ack_required: 'required',
  value: 'required',
  limit: 'required',
  unit: 'required',
  active_since: 'required',
  last_change: 'required',
  shelved_until: 'required',
  shelved_by: 'required',
  comment: 'required',
} as const satisfies FieldTable<AlarmView>;

export const ALARM_EVENT_FIELDS = {
  seq: 'required',
  time: 'required',
  alarm_id: 'required',
  device_id: 'required',
  point: 'required',
  kind: 'required',
  priority: 'required',
  message: 'required',
  transition: 'required',
  from: 'required',
  to: 'required',
  active: 'required',
  acked: 'required',
  value: 'required',
  limit: 'required',
  unit: 'required',
  by: 'required',
  comment: 'required',
  shelved_until: 'required',
} as const satisfies FieldTable<AlarmEvent>;

const ALARM_EVENT_MESSAGE_FIELDS = {
  type: 'required',
  topic: 'required',
  seq: 'required',
  event: 'required',
  timestamp: 'required',
} as const satisfies FieldTable<AlarmEventMessage>;

const ALARMS_SUBSCRIBED_FIELDS = {
  type: 'required',
  topic: 'required',
  seq: 'required',
  replayed: 'optional',
  resync: 'optional',
  alarms: 'optional',
  count: 'optional',
  counts: 'optional',
  unacked: 'optional',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<AlarmsSubscribedMessage>;

const ALARMS_UNSUBSCRIBED_FIELDS = {
  type: 'required',
  topic: 'required',
  id: 'optional',
  timestamp: 'required',
} as const satisfies FieldTable<AlarmsUnsubscribedMessage>;

type Table = Readonly<Record<string, 'required' | 'optional'>>;

/** A message type's fields, and which of them hold a device view or an update's data. */
interface MessageShape {
  fields: Table;
  views?: readonly string[];
  viewLists?: readonly string[];
  /** Fields holding a list of welcome entries (values, metadata only when not the type's). */
  valueLists?: readonly string[];
  /** Fields holding device type -> its point metadata. */
  typeTables?: readonly string[];
  updateData?: string;
  /** A field holding an alarm transition. */
  alarmEvent?: string;
  /** A field holding a list of alarms as the list shows them. */
  alarmList?: string;
}

export const MESSAGE_SHAPES: Readonly<Record<string, MessageShape>> = {
  connection_established: { fields: CONNECTION_ESTABLISHED_FIELDS, valueLists: ['devices'], typeTables: ['device_types'] },
  device_update: { fields: DEVICE_UPDATE_FIELDS, updateData: 'data' },
  subscribed: { fields: SUBSCRIBED_FIELDS, views: ['data'] },
  subscribed_batch: { fields: SUBSCRIBED_BATCH_FIELDS },
  device_status: { fields: DEVICE_STATUS_FIELDS, views: ['data'] },
  all_devices_status: { fields: ALL_DEVICES_STATUS_FIELDS, viewLists: ['devices'] },
  error: { fields: ERROR_FIELDS },
  pong: { fields: PLAIN_REPLY_FIELDS },
  unsubscribed: { fields: PLAIN_REPLY_FIELDS },
  alarm_event: { fields: ALARM_EVENT_MESSAGE_FIELDS, alarmEvent: 'event' },
  // Replies about a topic rather than a device: looked up as `<type> topic`.
  'subscribed topic': { fields: ALARMS_SUBSCRIBED_FIELDS, alarmList: 'alarms' },
  'unsubscribed topic': { fields: ALARMS_UNSUBSCRIBED_FIELDS },
};

/** Fields of `value` the table does not list, and required fields it lacks, each with its path. */
export function fieldProblems(value: unknown, table: Table, where: string): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${where}: not an object`];
  const problems: string[] = [];
  for (const key of Object.keys(value)) if (!(key in table)) problems.push(`${where}.${key}: not in the protocol type`);
  for (const [key, need] of Object.entries(table)) if (need === 'required' && !(key in value)) problems.push(`${where}.${key}: required, missing`);
  return problems;
}

/** Holds one WebSocket message against its protocol type (nested device views and update data too). */
export function messageProblems(msg: unknown): string[] {
  const type = (msg as { type?: unknown } | null)?.type;
  const topical = typeof msg === 'object' && msg !== null && 'topic' in msg && (type === 'subscribed' || type === 'unsubscribed');
  const shape = typeof type === 'string' ? MESSAGE_SHAPES[topical ? `${type} topic` : type] : undefined;
  if (shape === undefined) return [`message type ${String(type)}: not in the protocol types`];
  const m = msg as Record<string, unknown>;
  const problems = fieldProblems(msg, shape.fields, type as string);
  for (const f of shape.views ?? []) if (m[f] !== undefined) problems.push(...fieldProblems(m[f], DEVICE_VIEW_FIELDS, `${type}.${f}`));
  for (const f of shape.viewLists ?? []) {
    const list = m[f];
    if (Array.isArray(list)) list.forEach((v, i) => problems.push(...fieldProblems(v, DEVICE_VIEW_FIELDS, `${type}.${f}[${i}]`)));
  }
  for (const f of shape.valueLists ?? []) {
    const list = m[f];
    if (Array.isArray(list)) list.forEach((v, i) => problems.push(...fieldProblems(v, DEVICE_VALUES_FIELDS, `${type}.${f}[${i}]`)));
  }
  for (const f of shape.typeTables ?? []) {
    const table = m[f];
    if (table === undefined) continue;
    if (typeof table !== 'object' || table === null || Array.isArray(table)) problems.push(`${type}.${f}: not an object`);
    else for (const [name, meta] of Object.entries(table)) problems.push(...fieldProblems(meta, DEVICE_TYPE_META_FIELDS, `${type}.${f}.${name}`));
  }
  if (shape.alarmEvent !== undefined) problems.push(...fieldProblems(m[shape.alarmEvent], ALARM_EVENT_FIELDS, `${type}.${shape.alarmEvent}`));
  const alarms = shape.alarmList === undefined ? undefined : m[shape.alarmList];
  if (Array.isArray(alarms)) alarms.forEach((a, i) => problems.push(...fieldProblems(a, ALARM_VIEW_FIELDS, `${type}.${shape.alarmList}[${i}]`)));
  if (shape.updateData !== undefined) problems.push(...fieldProblems(m[shape.updateData], DEVICE_UPDATE_DATA_FIELDS, `${type}.${shape.updateData}`));
  return problems;
}
