/**
 * The WebSocket message shapes of the ADR (kept exactly) and our extensions. Pure functions:
 * they build strings and parse requests, they never touch a socket.
 */
import { GatewayError, type ErrorCode } from '../core/errors.js';
import type { DeviceDiff, DeviceSnapshot } from '../core/registry.js';
import {
  TOPICS,
  type BatchEntry,
  type ClientMessage,
  type DeviceUpdateMessage,
  type DeviceView,
  type ErrorMessage,
  type RequestId,
  type Topic,
} from '../protocol/wire.js';
import { DEVICE_ID_RULE, isDeviceId } from '../protocol/names.js';

export { TOPICS };
export type { BatchEntry, ClientMessage, RequestId, Topic };


const ACTIONS = ['subscribe', 'unsubscribe', 'get_status', 'get_all_status', 'ping'] as const;

export function now(): number {
  return Date.now() / 1000;
}

/** Checks a parsed message; throws GatewayError invalid_message / unknown_action. */
export function parseClientMessage(msg: unknown): ClientMessage {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
    throw new GatewayError('invalid_message', 'a message must be a JSON object such as {"action": "get_all_status"}');
  }
  const m = msg as Record<string, unknown>;
  const id = m['id'];
  if (id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
    throw new GatewayError('invalid_message', '"id" must be a string or a number');
  }
  const action = m['action'];
  if (action === undefined) throw new GatewayError('invalid_message', 'missing "action"; one of ' + ACTIONS.join(', '));
  if (typeof action !== 'string') throw new GatewayError('invalid_message', '"action" must be a string; one of ' + ACTIONS.join(', '));
  const withId = id === undefined ? {} : { id: id as RequestId };
  if (action === 'subscribe' && m['devices'] !== undefined) return parseBatchSubscribe(m, withId);
  if ((action === 'subscribe' || action === 'unsubscribe') && m['topic'] !== undefined) return parseTopic(action, m, withId);
  switch (action) {
    case 'get_all_status':
    case 'ping':
      return { action, ...withId };
    case 'subscribe':
    case 'unsubscribe':
    case 'get_status': {
      const deviceId = m['device_id'];
      if (deviceId === undefined) throw new GatewayError('invalid_message', `"${action}" needs "device_id"`);
      if (typeof deviceId !== 'string' || deviceId === '') throw new GatewayError('invalid_message', '"device_id" must be a non-empty string');
      if (action === 'unsubscribe') return { action, device_id: deviceId, ...withId };
      if (action === 'get_status') return { action, device_id: deviceId, ...withId };
      const since = m['since'];
      if (since !== undefined && !(typeof since === 'number' && Number.isInteger(since) && since >= 0)) {
        throw new GatewayError('invalid_message', '"since" must be a whole number >= 0 (the last seq you applied)');
      }
      const instance = m['instance'];
      if (instance !== undefined && typeof instance !== 'string') throw new GatewayError('invalid_message', '"instance" must be a string');
      return {
        action,
        device_id: deviceId,
        ...(since === undefined ? {} : { since: since as number }),
        ...(instance === undefined ? {} : { instance: instance as string }),
        ...withId,
      };
    }
    default:
      throw new GatewayError('unknown_action', `unknown action ${JSON.stringify(action).slice(0, 64)}; one of ${ACTIONS.join(', ')}`);
  }
}

function parseTopic(action: 'subscribe' | 'unsubscribe', m: Record<string, unknown>, withId: { id?: RequestId }): ClientMessage {
  const topic = m['topic'];
  if (typeof topic !== 'string' || !(TOPICS as readonly string[]).includes(topic)) {
    throw new GatewayError('invalid_message', `"topic" must be one of ${TOPICS.join(', ')}`);
  }
  if (m['device_id'] !== undefined) throw new GatewayError('invalid_message', `"${action}" takes either "device_id" or "topic", not both`);
  if (action === 'unsubscribe') return { action, topic: topic as Topic, ...withId };
  const since = m['since'];
  if (since !== undefined && !(typeof since === 'number' && Number.isInteger(since) && since >= 0)) {
    throw new GatewayError('invalid_message', '"since" must be a whole number >= 0 (the last alarm seq you applied)');
  }
  return { action, topic: topic as Topic, ...(since === undefined ? {} : { since: since as number }), ...withId };
}

/**
 * `{"action":"subscribe","devices":{"motor_01":41,"motor_02":null},"instance":…}`: a resume of
 * many devices in one message (object key order is the order they are answered in).
 */
function parseBatchSubscribe(m: Record<string, unknown>, withId: { id?: RequestId }): ClientMessage {
  if (m['device_id'] !== undefined) {
    throw new GatewayError('invalid_message', '"subscribe" takes either "device_id" (one device) or "devices" (a batch), not both');
  }
  if (m['since'] !== undefined) {
    throw new GatewayError('invalid_message', 'a batch "subscribe" gives each device its own since inside "devices"; drop the top-level "since"');
  }
  const devices = m['devices'];
  if (typeof devices !== 'object' || devices === null || Array.isArray(devices)) {
    throw new GatewayError('invalid_message', '"devices" must be an object of device id -> last seq applied (or null), e.g. {"motor_01": 41, "motor_02": null}');
  }
  const entries: BatchEntry[] = [];
  for (const [deviceId, since] of Object.entries(devices as Record<string, unknown>)) {
    const shown = JSON.stringify(deviceId).slice(0, 70);
    if (!isDeviceId(deviceId)) {
      throw new GatewayError('invalid_message', `"devices": ${shown} is not a device id (${DEVICE_ID_RULE})`);
    }
    if (since !== null && !(typeof since === 'number' && Number.isInteger(since) && since >= 0)) {
      throw new GatewayError('invalid_message', `"devices": the since of ${shown} must be null or a whole number >= 0 (the last seq you applied)`);
    }
    entries.push({ device_id: deviceId, since: since as number | null });
  }
  if (entries.length === 0) throw new GatewayError('invalid_message', '"devices" is empty; name at least one device');
  const instance = m['instance'];
  if (instance !== undefined && typeof instance !== 'string') throw new GatewayError('invalid_message', '"instance" must be a string');
  return { action: 'subscribe', devices: entries, ...(instance === undefined ? {} : { instance: instance as string }), ...withId };
}

export function deviceUpdateMessage(diff: DeviceDiff): string {
  const msg: DeviceUpdateMessage = {
    type: 'device_update',
    device_id: diff.device_id,
    data: {
      device_id: diff.device_id,
      device_type: diff.device_type,
      previous_state: diff.previous_state,
      new_state: diff.new_state,
      changed: diff.changed,
      action: diff.action,
      ...(diff.quality === undefined ? {} : { quality: diff.quality }),
    },
    timestamp: diff.timestamp,
    seq: diff.seq,
  };
  return JSON.stringify(msg);
}

export function errorMessage(code: ErrorCode, message: string, id?: RequestId): string {
  const msg: ErrorMessage = { type: 'error', error_code: code, message, timestamp: now(), ...(id === undefined ? {} : { id }) };
  return JSON.stringify(msg);
}

/** The error for one device of a batch subscribe: names the device, since the batch carries many. */
export function deviceErrorMessage(code: ErrorCode, message: string, deviceId: string): string {
  const msg: ErrorMessage = { type: 'error', error_code: code, message, device_id: deviceId, timestamp: now() };
  return JSON.stringify(msg);
}

export function reply(type: string, body: Record<string, unknown>, id?: RequestId): string {
  return JSON.stringify({ type, ...body, timestamp: now(), ...(id === undefined ? {} : { id }) });
}

/** The device as REST and WebSocket replies show it. */
export function deviceView(s: DeviceSnapshot): DeviceView {
  return {
    device_id: s.device_id,
    device_type: s.device_type,
    name: s.name,
    state: s.state,
    online: s.online,
    last_update: s.last_update,
    seq: s.seq,
    points: s.points,
    quality: s.quality,
    ...(s.area === undefined ? {} : { area: s.area }),
    ...(s.line === undefined ? {} : { line: s.line }),
  };
}
