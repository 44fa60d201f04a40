/**
 * What every part of the `/ws/devices` WebSocket shares: the per-socket data, and the one way a
 * message goes out (counted, and a socket over its backpressure limit closed as a slow consumer).
 */
import type { WebSocket } from 'uWebSockets.js';
import type { ConnectionGuard } from './auth-guard.js';
import type { ServerContext } from './context.js';
import { closeSlowConsumer } from './limits-backpressure.js';

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
}

export type Socket = WebSocket<Connection>;

/** The server context and the sender, as the WebSocket's handlers get them. */
export interface WsContext extends ServerContext {
  send(ws: Socket, text: string): void;
}

export function wsContext(ctx: ServerContext): WsContext {
  const { stats, log } = ctx;
  return {
    ...ctx,
    send(ws, text) {
      if (ws.getUserData().guard.closing) return; // closed by a limit in this same handler
      stats.messagesOut++;
      if (ws.send(text) === 2) {
        stats.closedSlow++;
        closeSlowConsumer(ws, log);
      }
    },
  };
}
