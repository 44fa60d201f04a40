/**
 * The machine-gateway client, for Node and the browser (ESM, no dependencies).
 *
 * ```ts
 * import { GatewayClient } from './client/index.js';
 * const client = new GatewayClient({
 *   url: 'http://127.0.0.1:8000',  // the gateway's HTTP address; the WebSocket is /ws/devices under it
 *   token,                         // optional: REST gets `Authorization: Bearer`, the WebSocket `?token=`
 *   // WebSocket: (await import('ws')).default,  // Node 20 only: it has no global WebSocket
 * });
 * client.on('update', (u) => render(u.device));        // one applied diff, in seq order, never twice
 * client.on('resync', (r) => render(r.device));        // the device was replaced by a snapshot (or a gap refilled)
 * client.on('online', (e) => ...); client.on('offline', (e) => ...);
 * client.on('connection', (c) => showBanner(c.state)); // connecting | connected | reconnecting | closed
 * client.start();
 * client.devices();                                    // the per-device state map
 * pointQuality(client.device('motor_01')!, 'speed');   // good | stale | bad | uncertain: is the value current?
 * await client.control('motor_01', { speed: 1500 });   // throws GatewayClientError { code, status }
 * client.stop();
 * ```
 *
 * After any drop the client reconnects with backoff and jitter and resumes every device from the
 * last seq it applied (`subscribe` + `since` + `instance`): it gets exactly the diffs it missed,
 * or a `resync` when the gateway restarted or no longer holds them.
 */
export { GatewayClient, type GatewayClientOptions, type WebSocketConstructor, type WebSocketLike } from './live.js';
export type {
  ClientEvents,
  ClientStats,
  ConnectionEvent,
  ConnectionState,
  DeviceEvent,
  ResyncEvent,
  ResyncReason,
  SyncedEvent,
  UpdateEvent,
} from './events.js';
export { RestClient, type FetchLike, type RestClientOptions } from './rest.js';
export { GatewayClientError } from './errors.js';
export { DeviceStore, type ApplyOutcome } from './device-store.js';
export { pointQuality } from './quality.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export type * from './types.js';
