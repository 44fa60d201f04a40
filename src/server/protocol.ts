/**
 * The WebSocket message shapes of the ADR (kept exactly) and our extensions. Pure functions:
 * they build strings and parse requests, they never touch a socket.
 */
import { GatewayError, type ErrorCode } from '../core/errors.js';
import type { DeviceDiff, DeviceSnapshot } from '../core/registry.js';

export type RequestId = string | number;

export type ClientMessage =
  | { action: 'subscribe'; device_id: string; since?: number; instance?: string; id?: RequestId }
  | { action: 'unsubscribe'; device_id: string; id?: RequestId }
  | { action: 'get_status'; device_id: string; id?: RequestId }
  | { action: 'get_all_status'; id?: RequestId }
  | { action: 'ping'; id?: RequestId };

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
      if (action !== 'subscribe') return { action, device_id: deviceId, ...withId };
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

export function deviceUpdateMessage(diff: DeviceDiff): string {
  return JSON.stringify({
    type: 'device_update',
    device_id: diff.device_id,
    data: {
      device_id: diff.device_id,
      device_type: diff.device_type,
      previous_state: diff.previous_state,
      new_state: diff.new_state,
      changed: diff.changed,
      action: diff.action,
    },
    timestamp: diff.timestamp,
    seq: diff.seq,
  });
}

export function errorMessage(code: ErrorCode, message: string, id?: RequestId): string {
  return JSON.stringify({ type: 'error', error_code: code, message, timestamp: now(), ...(id === undefined ? {} : { id }) });
}

export function reply(type: string, body: Record<string, unknown>, id?: RequestId): string {
  return JSON.stringify({ type, ...body, timestamp: now(), ...(id === undefined ? {} : { id }) });
}

/** The device as REST and WebSocket replies show it. */
export function deviceView(s: DeviceSnapshot): Record<string, unknown> {
  return {
    device_id: s.device_id,
    device_type: s.device_type,
    name: s.name,
    state: s.state,
    online: s.online,
    last_update: s.last_update,
    seq: s.seq,
    points: s.points,
  };
}
