/**
 * What every part of the `/ws/devices` WebSocket shares: the per-socket data, and the one way a
 * message goes out (counted, and a socket over its backpressure limit closed as a slow consumer).
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ConnectionGuard } from './auth-guard.js';
import type { ServerContext } from './context.js';
import { closeSlowConsumer } from './limits-backpressure.js';
import type { DeviceTopics, SharedTopic } from './ws-topics.js';

export const WS_PATH = '/ws/devices';

export interface Connection {
  clientId: string;
  remote: string;
  /** Devices named in `?devices=` (undefined: all). */
  initial: string[] | undefined;
  /** Who the connection authenticated as (its role) and its message-rate gate. */
  guard: ConnectionGuard;
  /** `connection_established` sent (ws.ts sends it a tick after the upgrade, or before the first reply). */
  welcomed: boolean;
  /** uWS closed the socket: it must not be touched any more. */
  closed: boolean;
  /** The shared topic the socket follows its devices through, if it does (ws-topics.ts). */
  shared?: SharedTopic | undefined;
}

export type Socket = WebSocket<Connection>;

/** The server context and the sender, as the WebSocket's handlers get them. */
export interface WsContext extends ServerContext {
  send(ws: Socket, text: string): void;
  topics: DeviceTopics;
}

export function wsContext(ctx: ServerContext, topics: DeviceTopics): WsContext {
  const { stats, log } = ctx;
  return {
    ...ctx,
    topics,
    send(ws, text) {
      if (ws.getUserData().guard.closing) return; // closed by a limit in this same handler
      stats.messagesOut++;
      if ((text.length > FRAGMENT_CHARS * 2 ? sendFragmented(ws, text) : ws.send(text)) === 2) {
        stats.closedSlow++;
        closeSlowConsumer(ws, log);
      }
    },
  };
}

/**
 * A long message (a `get_all_status` of 100 devices is ~290 KB) goes as one WebSocket message in
 * fragments of this many characters. uWS 20.30 copies a long message for a socket that
 * subscribes to topics into that socket's own buffer and never shrinks it: one such reply kept
 * its size for the connection's life (100 ADR clients asking once: +28 MB). Fragments pass
 * through the loop's shared cork buffer instead (measured: 24 KB kept per socket, not 290).
 * Every WebSocket client reassembles them (RFC 6455: a message may be fragmented).
 */
export const FRAGMENT_CHARS = 8192;

type SendStatus = 0 | 1 | 2;

/** uWS's status of the worst fragment: 2 (dropped, over the limit) ends the sending at once. */
export function sendFragmented(ws: Socket, text: string): SendStatus {
  let worst: SendStatus = 1;
  for (let start = 0; start < text.length; ) {
    let end = Math.min(text.length, start + FRAGMENT_CHARS);
    // Never between the two halves of a surrogate pair: each fragment is valid UTF-8 alone.
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    const part = text.slice(start, end);
    const status = (start === 0 ? ws.sendFirstFragment(part) : end === text.length ? ws.sendLastFragment(part) : ws.sendFragment(part)) as unknown as SendStatus;
    if (status === 2) return 2;
    if (status === 0) worst = 0;
    start = end;
  }
  return worst;
}
