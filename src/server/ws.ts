/**
 * The `/ws/devices` WebSocket of PROTOCOL.md: the uWS behaviour, from upgrade to close. What a
 * connection gets is in the ws-* modules: ws-welcome (the welcome), ws-requests (a client's
 * messages), ws-subscribe (device subscriptions), ws-publisher (diffs to topics), alarms-ws
 * (the `alarms` topic).
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import type { ServerContext } from './context.js';
import { sendError, startReply } from './http.js';
import { ConnectionShares } from './limits-connections.js';
import { devicesParam } from './auth-guard.js';
import { WS_PATH, wsContext, type Connection, type Socket } from './ws-connection.js';
import { welcome } from './ws-welcome.js';
import { onMessage } from './ws-requests.js';
import type { DeviceTopics } from './ws-topics.js';
import type { WebSocketPublisher } from './ws-publisher.js';

/** Bytes above server.max_message_bytes that uWS still accepts so we can close with 1009 ourselves. */
const HARD_CAP_MARGIN = 64 * 1024;

/**
 * `publisher.flush()` runs before anything that takes a snapshot or changes a subscription (the
 * welcome, every client message): diffs the publisher paces (ws-publisher.ts) are out by then.
 */
export function registerWebSocket(app: TemplatedApp, server: ServerContext, sockets: Set<Socket>, topics: DeviceTopics, publisher: Pick<WebSocketPublisher, 'flush'>): void {
  const ctx = wsContext(server, topics);
  const { config, log, stats } = ctx;
  const shares = new ConnectionShares();
  const sendWelcome = (ws: Socket): void => {
    publisher.flush();
    ws.getUserData().welcomed = true;
    welcome(ctx, ws, sockets.size);
  };

  app.ws<Connection>(WS_PATH, {
    // uWS drops an oversized message without a close frame (the client sees 1006). We let
    // messages up to a hard cap through and close over-limit ones ourselves with 1009, as the
    // protocol promises; past the cap uWS still cuts the connection, so memory stays bounded.
    maxPayloadLength: config.max_message_bytes + HARD_CAP_MARGIN,
    idleTimeout: config.heartbeat_s,
    sendPingsAutomatically: config.heartbeat_s > 0,
    maxBackpressure: config.max_backpressure_bytes,
    closeOnBackpressureLimit: 1,

    upgrade: (res, req, context) => {
      const r = startReply(res);
      // Token, role and Origin are checked before anything else: a refusal is a 401/403/429 reply, never an upgrade.
      const admitted = ctx.security.upgrade(req, r);
      if (admitted === undefined) return;
      try {
        shares.check(admitted.guard.principal, r.remote, config.max_connections, ctx.security.limits);
      } catch (err) {
        stats.connectionsRefused++;
        log.warn({ remote: r.remote, token: admitted.guard.principal.name, reason: (err as Error).message }, 'connection refused: limit reached');
        sendError(r, err);
        return;
      }
      const query = new URLSearchParams(req.getQuery() ?? '');
      const clientId = (query.get('client_id') ?? '').slice(0, 128) || randomUUID();
      const initial = devicesParam(query);
      res.upgrade<Connection>(
        { clientId, remote: r.remote, initial, guard: admitted.guard, welcomed: false, closed: false },
        req.getHeader('sec-websocket-key'),
        admitted.protocol,
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },

    open: (ws) => {
      sockets.add(ws);
      const conn = ws.getUserData();
      shares.opened(conn.guard.principal, conn.remote);
      stats.connections = sockets.size;
      stats.connectionsTotal++;
      // The welcome goes out on the next turn of the loop, uncorked, not here: in `open` the
      // upgrade's reply is still corked, the welcome's fragments (ws-connection.ts) overflow the
      // loop's cork buffer into the socket's own, and uWS 20.30 keeps that for the connection's
      // life (measured: 100 clients +3.7 MiB sent here, +2.3 MiB a tick later). A client that
      // speaks first still hears the welcome first (below).
      setImmediate(() => {
        if (!conn.closed && !conn.welcomed) sendWelcome(ws);
      });
      log.debug({ client: conn.clientId, remote: conn.remote, connections: sockets.size }, 'client connected');
    },

    message: (ws, message) => {
      publisher.flush();
      if (!ws.getUserData().welcomed) sendWelcome(ws);
      onMessage(ctx, ws, message);
    },

    close: (ws, code) => {
      ws.getUserData().closed = true;
      sockets.delete(ws);
      shares.closed(ws.getUserData().guard.principal, ws.getUserData().remote);
      stats.connections = sockets.size;
      log.debug({ client: ws.getUserData().clientId, code, connections: sockets.size }, 'client disconnected');
    },
  });
}
