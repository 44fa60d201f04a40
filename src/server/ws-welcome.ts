/**
 * A new connection: subscribed to every device (or those of `?devices=`) and welcomed with
 * `connection_established`: the ADR's fields, the instance to resume against, each device's
 * values, and the point metadata once per device type (src/protocol/welcome.ts).
 */
import type { ConnectionEstablishedMessage } from '../protocol/wire.js';
import { packWelcomeDevices } from '../protocol/welcome.js';
import { deviceView, errorMessage, now } from './protocol.js';
import type { Socket, WsContext } from './ws-connection.js';
import { joinShared } from './ws-subscribe.js';

/** Unknown ids of `?devices=` answered one by one; the rest in one summary. */
const MAX_UNKNOWN_REPORTED = 10;

export function welcome(ctx: WsContext, ws: Socket, totalConnections: number): void {
  const { registry } = ctx;
  const conn = ws.getUserData();
  const unknown: string[] = [];
  const ids = conn.initial ?? registry.ids();
  const known: string[] = [];
  for (const id of ids) {
    if (registry.has(id)) known.push(id);
    else unknown.push(id);
  }
  // Every device: one topic shared with the other such connections (ws-topics.ts).
  if (conn.initial === undefined) joinShared(ws, ctx.topics.sharedFor(known));
  else for (const id of known) ws.subscribe(id);
  // Subscribing and taking the snapshot happen in this same tick: no diff can fall between.
  const packed = packWelcomeDevices(known.map((id) => deviceView(registry.snapshot(id)!)));
  const msg: ConnectionEstablishedMessage = {
    type: 'connection_established',
    message: 'Connected to machine-gateway',
    timestamp: now(),
    total_connections: totalConnections,
    client_id: conn.clientId,
    instance: registry.instance,
    devices: packed.devices,
    device_types: packed.device_types,
  };
  ctx.send(ws, JSON.stringify(msg));
  // One error per unknown id as the protocol has it, but a bounded number of them.
  for (const id of unknown.slice(0, MAX_UNKNOWN_REPORTED)) ctx.send(ws, errorMessage('device_not_found', `Device ${id.slice(0, 100)} not found`));
  if (unknown.length > MAX_UNKNOWN_REPORTED) {
    ctx.send(ws, errorMessage('device_not_found', `${unknown.length - MAX_UNKNOWN_REPORTED} more devices named in ?devices= were not found either`));
  }
}
