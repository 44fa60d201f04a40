/**
 * The `/ws/devices` WebSocket of PROTOCOL.md. Topics are device ids: a diff is serialised once
 * and handed to uWS with app.publish; uWS fans it out to every subscribed socket.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import { GatewayError, asGatewayError } from '../core/errors.js';
import type { ServerContext } from './context.js';
import { parseJson, sendError, startReply } from './http.js';
import { ConnectionShares } from './limits-connections.js';
import { WS_ACTION_PERMISSION, devicesParam, type ConnectionGuard } from './auth-guard.js';
import { closeSlowConsumer } from './limits-backpressure.js';
import { subscribeTopic, unsubscribeTopic } from './alarms-ws.js';
import {
  deviceErrorMessage,
  deviceUpdateMessage as deviceUpdate,
  deviceView,
  errorMessage,
  now,
  parseClientMessage,
  reply,
  type BatchEntry,
  type ClientMessage,
  type RequestId,
} from './protocol.js';

export interface Connection {
  clientId: string;
  remote: string;
  /** Devices named in `?devices=` (undefined: all). */
  initial: string[] | undefined;
  /** Who the connection authenticated as (its role) and its message-rate gate. */
  guard: ConnectionGuard;
}

export const WS_PATH = '/ws/devices';

/** Unknown ids of `?devices=` answered one by one; the rest in one summary. */
const MAX_UNKNOWN_REPORTED = 10;

/** Bytes above server.max_message_bytes that uWS still accepts so we can close with 1009 ourselves. */
const HARD_CAP_MARGIN = 64 * 1024;

export function registerWebSocket(app: TemplatedApp, ctx: ServerContext, sockets: Set<WebSocket<Connection>>): void {
  const { config, registry, log, stats } = ctx;
  const shares = new ConnectionShares();

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
        { clientId, remote: r.remote, initial, guard: admitted.guard },
        req.getHeader('sec-websocket-key'),
        admitted.protocol,
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },

    open: (ws) => {
      sockets.add(ws);
      shares.opened(ws.getUserData().guard.principal, ws.getUserData().remote);
      stats.connections = sockets.size;
      stats.connectionsTotal++;
      const conn = ws.getUserData();
      const unknown: string[] = [];
      const ids = conn.initial ?? registry.ids();
      for (const id of ids) {
        if (registry.has(id)) ws.subscribe(id);
        else unknown.push(id);
      }
      // Subscribing and taking the snapshot happen in this same tick: no diff can fall between.
      const devices = ids.filter((id) => registry.has(id)).map((id) => deviceView(registry.snapshot(id)!));
      send(
        ws,
        JSON.stringify({
          type: 'connection_established',
          message: 'Connected to machine-gateway',
          timestamp: now(),
          total_connections: sockets.size,
          client_id: conn.clientId,
          instance: registry.instance,
          devices,
        }),
      );
      // One error per unknown id as the protocol has it, but a bounded number of them.
      for (const id of unknown.slice(0, MAX_UNKNOWN_REPORTED)) send(ws, errorMessage('device_not_found', `Device ${id.slice(0, 100)} not found`));
      if (unknown.length > MAX_UNKNOWN_REPORTED) {
        send(ws, errorMessage('device_not_found', `${unknown.length - MAX_UNKNOWN_REPORTED} more devices named in ?devices= were not found either`));
      }
      log.debug({ client: conn.clientId, remote: conn.remote, connections: sockets.size }, 'client connected');
    },

    message: (ws, message) => {
      stats.messagesIn++;
      if (!ctx.security.admitMessage(ws)) return;
      if (message.byteLength > config.max_message_bytes) {
        ws.end(1009, `message too big: ${message.byteLength} bytes, limit ${config.max_message_bytes}`);
        return;
      }
      let id: ClientMessage['id'];
      try {
        const parsed = parseJson(message);
        if (typeof parsed === 'object' && parsed !== null && 'id' in parsed) {
          const raw = (parsed as { id: unknown }).id;
          if (typeof raw === 'string' || typeof raw === 'number') id = raw;
        }
        handle(ws, parseClientMessage(parsed));
      } catch (err) {
        const e = asGatewayError(err);
        if (e.code === 'internal_error') log.error({ err }, 'websocket message failed');
        send(ws, errorMessage(e.code, e.message, id));
      }
    },

    close: (ws, code) => {
      sockets.delete(ws);
      shares.closed(ws.getUserData().guard.principal, ws.getUserData().remote);
      stats.connections = sockets.size;
      log.debug({ client: ws.getUserData().clientId, code, connections: sockets.size }, 'client disconnected');
    },
  });

  function send(ws: WebSocket<Connection>, text: string): void {
    if (ws.getUserData().guard.closing) return; // closed by a limit in this same handler
    stats.messagesOut++;
    if (ws.send(text) === 2) {
      stats.closedSlow++;
      closeSlowConsumer(ws, log);
    }
  }

  function requireDevice(deviceId: string): void {
    if (!registry.has(deviceId)) throw new GatewayError('device_not_found', `Device ${deviceId} not found`);
  }

  function handle(ws: WebSocket<Connection>, msg: ClientMessage): void {
    ctx.security.requireOnConnection(ws.getUserData().guard, WS_ACTION_PERMISSION[msg.action], `"${msg.action}"`);
    switch (msg.action) {
      case 'ping':
        send(ws, reply('pong', {}, msg.id));
        return;
      case 'get_all_status':
        send(ws, reply('all_devices_status', { devices: registry.list().map(deviceView) }, msg.id));
        return;
      case 'get_status':
        requireDevice(msg.device_id);
        send(ws, reply('device_status', { device_id: msg.device_id, data: deviceView(registry.snapshot(msg.device_id)!) }, msg.id));
        return;
      case 'unsubscribe':
        if ('topic' in msg) return unsubscribeTopic(ctx, ws, msg, (t) => send(ws, t));
        requireDevice(msg.device_id);
        ws.unsubscribe(msg.device_id);
        send(ws, reply('unsubscribed', { device_id: msg.device_id }, msg.id));
        return;
      case 'subscribe':
        if ('topic' in msg) subscribeTopic(ctx, ws, msg, (t) => send(ws, t));
        else if ('devices' in msg) subscribeBatch(ws, msg);
        else subscribeOne(ws, msg.device_id, msg.since, msg.instance, msg.id, config.max_backpressure_bytes / 2);
        return;
    }
  }

  /**
   * One device: replay then `subscribed`, or a resync `device_status` then `subscribed`. A replay
   * larger than `replayBudget` bytes is answered with the snapshot instead. Returns the bytes sent.
   */
  function subscribeOne(ws: WebSocket<Connection>, deviceId: string, since: number | undefined, instance: string | undefined, id: RequestId | undefined, replayBudget: number): number {
    requireDevice(deviceId);
    if (!ws.isSubscribed(deviceId)) ctx.security.checkSubscription(ws.getTopics().length);
    ws.subscribe(deviceId);
    const snap = registry.snapshot(deviceId)!;
    let bytes = 0;
    const out = (text: string): void => {
      bytes += text.length;
      send(ws, text);
    };
    if (since !== undefined) {
      // Seqs restart with the process: a `since` without this instance's id cannot be trusted.
      const missed = instance === registry.instance ? registry.since(deviceId, since) : null;
      const replay = missed?.map(deviceUpdate);
      // A replay larger than half the backpressure limit would close the socket mid-way and
      // the client would ask for the same replay again, forever: a snapshot is smaller.
      if (replay !== undefined && replay.reduce((n, t) => n + t.length, 0) <= replayBudget) {
        for (const text of replay) out(text);
        out(reply('subscribed', { device_id: deviceId, seq: snap.seq, replayed: replay.length }, id));
        return bytes;
      }
      out(reply('device_status', { device_id: deviceId, seq: snap.seq, data: deviceView(snap), resync: true }));
    }
    // The snapshot lets a client that was unsubscribed catch up on what it did not hear.
    out(reply('subscribed', { device_id: deviceId, seq: snap.seq, data: deviceView(snap) }, id));
    return bytes;
  }

  /**
   * A resume of many devices in one message: each device answered as a single subscribe would
   * be (without the request id), in the order given; a device that fails gets its error (with
   * its device_id) and the rest go on; `subscribed_batch` with the id closes the batch.
   */
  function subscribeBatch(ws: WebSocket<Connection>, msg: Extract<ClientMessage, { devices: BatchEntry[] }>): void {
    // Every device of the batch shares the half of the backpressure limit one replay may use.
    let sent = 0;
    const failed: string[] = [];
    for (const entry of msg.devices) {
      if (ws.getUserData().guard.closing) return; // closed as a slow consumer: the client resumes again
      try {
        sent += subscribeOne(ws, entry.device_id, entry.since ?? undefined, msg.instance, undefined, config.max_backpressure_bytes / 2 - sent);
      } catch (err) {
        const e = asGatewayError(err);
        if (e.code === 'internal_error') log.error({ err, device: entry.device_id }, 'batch subscribe failed for a device');
        failed.push(entry.device_id);
        send(ws, deviceErrorMessage(e.code, e.message, entry.device_id));
      }
    }
    send(ws, reply('subscribed_batch', { count: msg.devices.length, subscribed: msg.devices.length - failed.length, failed }, msg.id));
  }
}
