/**
 * GatewayClient: the live half of the client. One WebSocket to `/ws/devices`, a per-device state
 * map kept in step by seq, and resumption after every drop:
 *
 * 1. The first connection takes the snapshot of `connection_established` (it states each
 *    device's seq) and applies the updates that follow it.
 * 2. After a drop it reconnects with backoff and jitter, asks for no initial subscription
 *    (`?devices=`) and re-subscribes every device with `since` (its last applied seq) and the
 *    `instance` it came from, many devices per batch `subscribe` (a gateway that does not know
 *    the batch form refuses it, and the client falls back to one message per device). The server
 *    replays the missed diffs in order, or, when it no longer holds them or restarted meanwhile,
 *    answers `device_status` with `resync: true`.
 * 3. Updates at or below a device's seq are duplicates and dropped; one further ahead than seq+1
 *    is a gap: the device is re-subscribed with `since` as in 2.
 */
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { DeviceStore } from './device-store.js';
import { Emitter } from './emitter.js';
import { GatewayClientError } from './errors.js';
import { RequestQueue } from './request-queue.js';
import { DEFAULT_MAX_MESSAGE_BYTES, batchMessage, packResume, type ResumeEntry } from './resume-batch.js';
import { RestClient, type FetchLike } from './rest.js';
import { devicesOfWelcome } from '../protocol/welcome.js';
import type { ClientEvents, ClientStats, ConnectionEvent, ConnectionState, ResyncReason } from './events.js';
import type { Topic } from '../protocol/wire.js';
import type { ControlResult, DeviceStatusMessage, DeviceUpdateMessage, DeviceView, PointValue, ServerMessage, SubscribedBatchMessage, SubscribedMessage } from './types.js';

/** What the client needs of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: any) => void) | null;
  onclose: ((ev: any) => void) | null;
  onerror: ((ev: any) => void) | null;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface GatewayClientOptions {
  /** The gateway's HTTP address, e.g. `http://127.0.0.1:8000`; the WebSocket is `/ws/devices` under it. */
  url: string;
  /** API token: `Authorization: Bearer` for REST; on the WebSocket (where browsers cannot set headers) see `tokenIn`. */
  token?: string | undefined;
  /**
   * Where the WebSocket carries the token: `query` (`?token=`, default) or `protocol` (a
   * `bearer.<token>` subprotocol, which keeps it out of URLs and access logs).
   */
  tokenIn?: 'query' | 'protocol' | undefined;
  /** Devices to follow (default: all the gateway has). */
  devices?: string[] | undefined;
  /** Shown in the gateway's log; default a random id per client. */
  clientId?: string | undefined;
  /** Defaults to globalThis.WebSocket; Node 20 has none: pass the `ws` package's class. */
  WebSocket?: WebSocketConstructor | undefined;
  /** Defaults to globalThis.fetch. */
  fetch?: FetchLike | undefined;
  backoff?: BackoffOptions | undefined;
  /** A ping is sent after this much silence (ms; default 15000; 0 disables); no answer within as long again drops the socket. */
  heartbeatMs?: number | undefined;
  /** REST request timeout (ms; default 10000). */
  requestTimeoutMs?: number | undefined;
  /** How long a connection attempt may take until the welcome (ms; default 10000): a host that is off does not answer at all. */
  connectTimeoutMs?: number | undefined;
  /** Source of randomness for the jitter, in [0, 1). */
  random?: (() => number) | undefined;
  /** The gateway's server.max_message_bytes (default 1024): resume batches are packed below it. */
  maxMessageBytes?: number | undefined;
}

const OPEN = 1;

interface PendingSubscribe {
  deviceId: string;
  reason: ResyncReason;
  /** A resync snapshot arrived for this request (device_status resync:true). */
  snapshotSeen: boolean;
}

/** One device of a batch subscribe, with what it was asked with (to send it alone if need be). */
interface BatchedSubscribe extends PendingSubscribe {
  since: number | undefined;
  instance: string | undefined;
}

export class GatewayClient {
  readonly stats: ClientStats = { connects: 0, reconnects: 0, updates: 0, duplicates: 0, gaps: 0, resyncs: 0, replayed: 0, throttled: 0 };
  private readonly events = new Emitter<ClientEvents>((err, event) => {
    // A throwing `error` listener is not reported to itself again.
    if (event !== 'error') this.events.emit('error', asClientError(err));
  });
  private readonly store = new DeviceStore();
  private readonly rest: RestClient;
  private readonly WebSocketImpl: WebSocketConstructor;
  private readonly clientId: string;
  private socket: WebSocketLike | undefined;
  private connState: ConnectionState = 'idle';
  private serverInstance: string | undefined;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private lastHeard = 0;
  private pingOutstanding = false;
  private nextRequestId = 1;
  private readonly pending = new Map<string, PendingSubscribe>();
  /** Batch subscribes by request id: the devices not answered yet. */
  private readonly batches = new Map<string, Map<string, BatchedSubscribe>>();
  /** The gateway refused a batch (an older version): resume one device per message. */
  private batchUnsupported = false;
  /** Size batches are packed under: the gateway's message limit as known, halved on each 1009 close. */
  private batchBytes: number;
  private readonly requests = new RequestQueue({ send: (msg) => this.send(msg) });
  private syncing = false;
  private resumed = false;
  private listRequestId: string | undefined;
  /** Topics besides devices followed on this connection, with where each resumes from. */
  private readonly topics = new Map<Topic, () => number | undefined>();

  constructor(private readonly options: GatewayClientOptions) {
    const ws = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (ws === undefined) throw new GatewayClientError('no_websocket', 'no WebSocket in this runtime: pass the `WebSocket` option (in Node, the `ws` package)');
    this.WebSocketImpl = ws;
    // A wrong address is a setup mistake, not a network hiccup: fail now instead of retrying forever.
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new GatewayClientError('invalid_url', `${JSON.stringify(options.url)} is not a valid gateway address; expected e.g. http://127.0.0.1:8000`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new GatewayClientError('invalid_url', `${options.url}: the gateway address must start with http:// or https:// (the WebSocket address is derived from it)`);
    }
    this.batchBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.clientId = options.clientId ?? `mgw-client-${Math.random().toString(36).slice(2, 10)}`;
    this.rest = new RestClient({ url: options.url, token: options.token, fetch: options.fetch, timeoutMs: options.requestTimeoutMs });
  }

  on<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof ClientEvents>(event: K, listener: (payload: ClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  get state(): ConnectionState {
    return this.connState;
  }

  /** The server instance of the current numbering (changes when the gateway restarts). */
  get instance(): string | undefined {
    return this.serverInstance;
  }

  /** One device as the client knows it (live object: read it, do not change it). */
  device(id: string): DeviceView | undefined {
    return this.store.get(id);
  }

  /** Every device as the client knows it. */
  devices(): DeviceView[] {
    return this.store.all();
  }

  /**
   * Follows a topic besides devices (`alarms`) on this same connection: subscribed now (when
   * connected) and again after every reconnect, with `since` as the caller says (the last seq it
   * applied; undefined: a fresh snapshot). Its messages come as `topic` events.
   */
  followTopic(topic: Topic, since: () => number | undefined = () => undefined): void {
    this.topics.set(topic, since);
    if (this.connState === 'connected') this.subscribeTopic(topic);
  }

  private subscribeTopic(topic: Topic): void {
    const since = this.topics.get(topic)?.();
    this.send({ action: 'subscribe', topic, ...(since === undefined ? {} : { since }) });
  }

  /** Opens the connection; it then stays up (reconnecting as needed) until stop(). */
  start(): void {
    if (this.connState !== 'idle' && this.connState !== 'closed') return;
    this.connect();
  }

  /** Closes the connection for good and stops reconnecting. */
  stop(): void {
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.connectTimer);
    this.requests.clear();
    this.reconnectTimer = undefined;
    this.stopHeartbeat();
    const s = this.socket;
    this.socket = undefined;
    if (s !== undefined) {
      detach(s);
      try {
        s.close(1000, 'client closing');
      } catch {
        // already closed
      }
    }
    if (this.connState !== 'closed') this.setState({ state: 'closed', attempt: this.attempt });
  }

  // REST wrappers: same address and token as the live connection.

  list(): Promise<DeviceView[]> {
    return this.rest.list();
  }

  get(deviceId: string): Promise<DeviceView> {
    return this.rest.get(deviceId);
  }

  control(deviceId: string, values: Record<string, PointValue>): Promise<ControlResult> {
    return this.rest.control(deviceId, values);
  }

  /** The WebSocket address this client connects to (token included when set). */
  socketUrl(resume = false): string {
    const u = new URL('ws/devices', this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('client_id', this.clientId);
    // Resuming: no initial subscription; every device comes back through `subscribe` + `since`.
    if (resume) u.searchParams.set('devices', '');
    else if (this.options.devices !== undefined) u.searchParams.set('devices', this.options.devices.join(','));
    if (this.options.token && this.options.tokenIn !== 'protocol') u.searchParams.set('token', this.options.token);
    return u.toString();
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    this.setState({ state: 'connecting', attempt: this.attempt });
    const resume = this.serverInstance !== undefined && this.store.size > 0;
    let s: WebSocketLike;
    try {
      const url = this.socketUrl(resume);
      s = this.options.token && this.options.tokenIn === 'protocol' ? new this.WebSocketImpl(url, ['mgw.v1', `bearer.${this.options.token}`]) : new this.WebSocketImpl(url);
    } catch (err) {
      this.events.emit('error', new GatewayClientError('network_error', `cannot open the WebSocket: ${(err as Error).message}`, { cause: err }));
      this.scheduleReconnect(1006, 'cannot open');
      return;
    }
    this.socket = s;
    this.resumed = resume;
    const limit = this.options.connectTimeoutMs ?? 10_000;
    this.connectTimer = setTimeout(() => this.drop(4000, `no welcome within ${limit} ms`), limit);
    s.onmessage = (ev: { data: unknown }) => {
      if (this.socket !== s) return;
      this.lastHeard = Date.now();
      this.pingOutstanding = false;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(typeof ev.data === 'string' ? ev.data : String(ev.data)) as ServerMessage;
      } catch {
        this.events.emit('error', new GatewayClientError('bad_response', 'the gateway sent a message that is not JSON'));
        return;
      }
      this.handle(msg);
    };
    // Node's `ws` says why a connection failed ("connect ECONNREFUSED", "Unexpected server
    // response: 401"); browsers say nothing. The close event that follows carries it on.
    let failure = '';
    s.onerror = (ev: { message?: unknown; error?: { message?: unknown } }) => {
      const m = ev?.message ?? ev?.error?.message;
      if (typeof m === 'string') failure = m;
    };
    s.onclose = (ev: { code?: number; reason?: string }) => {
      if (this.socket !== s) return;
      this.socket = undefined;
      this.scheduleReconnect(ev.code ?? 1006, ev.reason || failure);
    };
  }

  /** Drops the current socket at once (no close handshake to wait for) and reconnects. */
  private drop(code: number, reason: string): void {
    const s = this.socket;
    if (s === undefined) return;
    this.socket = undefined;
    detach(s);
    try {
      s.close(4000, reason);
    } catch {
      // already closing
    }
    this.scheduleReconnect(code, reason);
  }

  private scheduleReconnect(code: number, reason: string): void {
    this.stopHeartbeat();
    clearTimeout(this.connectTimer);
    this.requests.clear();
    // 1009: a message of ours was over the gateway's server.max_message_bytes, which is set lower
    // than we assumed; only a batch is that large, so the next ones are packed smaller.
    if (code === 1009) this.batchBytes = Math.max(64, Math.floor(this.batchBytes / 2));
    this.pending.clear();
    this.batches.clear();
    this.syncing = false;
    this.listRequestId = undefined;
    if (this.connState === 'closed') return;
    const delayMs = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.attempt++;
    this.setState({ state: 'reconnecting', attempt: this.attempt, delayMs, code, reason });
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private setState(ev: ConnectionEvent): void {
    this.connState = ev.state;
    this.events.emit('connection', ev);
  }

  private send(msg: Record<string, unknown>): void {
    const s = this.socket;
    if (s !== undefined && s.readyState === OPEN) s.send(JSON.stringify(msg));
  }

  private requestId(): string {
    return `c${this.nextRequestId++}`;
  }

  private subscribe(deviceId: string, reason: ResyncReason, since?: number, instance?: string): void {
    const id = this.requestId();
    this.pending.set(id, { deviceId, reason, snapshotSeen: false });
    this.requests.push({ action: 'subscribe', device_id: deviceId, id, ...(since === undefined ? {} : { since, instance }) });
  }

  /** Re-subscribes many devices: batches under the message size limit, or one by one for an older gateway. */
  private subscribeMany(entries: ResumeEntry[], reason: ResyncReason, instance: string | undefined): void {
    if (this.batchUnsupported) {
      for (const e of entries) this.subscribe(e.deviceId, reason, e.since, instance);
      return;
    }
    for (const group of packResume(entries, instance, this.batchBytes)) {
      const id = this.requestId();
      const devices = new Map<string, BatchedSubscribe>();
      for (const e of group) devices.set(e.deviceId, { deviceId: e.deviceId, reason, snapshotSeen: false, since: e.since, instance });
      this.batches.set(id, devices);
      this.requests.push(batchMessage(group, instance, id));
    }
  }

  /** The oldest batched request for this device not answered yet (removed when `take`). */
  private batched(deviceId: string, take: boolean): BatchedSubscribe | undefined {
    for (const devices of this.batches.values()) {
      const req = devices.get(deviceId);
      if (req === undefined) continue;
      if (take) devices.delete(deviceId);
      return req;
    }
    return undefined;
  }

  private handle(msg: ServerMessage): void {
    if ('topic' in msg) {
      this.events.emit('topic', { topic: msg.topic, message: msg });
      return;
    }
    switch (msg.type) {
      case 'connection_established':
        return this.onEstablished(msg);
      case 'device_update':
        return this.onUpdate(msg);
      case 'device_status':
        return this.onStatus(msg);
      case 'subscribed':
        return this.onSubscribed(msg);
      case 'subscribed_batch':
        return this.onBatchDone(msg);
      case 'all_devices_status':
        if (msg.id !== undefined && msg.id === this.listRequestId) {
          this.requests.answered(this.listRequestId);
          this.listRequestId = undefined;
          // Devices we never heard of (added by a restart or a reload): follow them too.
          for (const d of msg.devices) if (!this.store.has(d.device_id)) this.subscribe(d.device_id, 'initial');
          this.checkSynced();
        }
        return;
      case 'error':
        return this.onError(msg);
      default:
        return;
    }
  }

  private onEstablished(msg: Extract<ServerMessage, { type: 'connection_established' }>): void {
    clearTimeout(this.connectTimer);
    const previous = this.serverInstance;
    this.serverInstance = msg.instance;
    this.attempt = 0;
    if (this.stats.connects > 0) this.stats.reconnects++;
    this.stats.connects++;
    this.setState({ state: 'connected', attempt: 0, ...(msg.instance === undefined ? {} : { instance: msg.instance }), resumed: this.resumed });
    this.startHeartbeat();
    for (const topic of this.topics.keys()) this.subscribeTopic(topic);
    this.syncing = true;
    if (!this.resumed) {
      // Values per device, point metadata once per device type: put back together.
      for (const view of devicesOfWelcome(msg)) {
        const device = this.store.replace(view);
        this.stats.resyncs++;
        this.events.emit('resync', { device_id: view.device_id, reason: 'initial', seq: device.seq, snapshot: true, device });
      }
    } else {
      if (previous !== msg.instance) this.batchUnsupported = false; // another gateway version, maybe
      const restarted = previous !== msg.instance;
      const entries = this.store.ids().map((id) => ({ deviceId: id, since: this.store.seq(id) }));
      this.subscribeMany(entries, restarted ? 'new_instance' : 'replay_unavailable', previous);
      // Following all devices: a restart or a reload may have added some; ask which there are.
      if (this.options.devices === undefined) {
        this.listRequestId = this.requestId();
        this.requests.push({ action: 'get_all_status', id: this.listRequestId });
      }
    }
    this.checkSynced();
  }

  private onUpdate(msg: DeviceUpdateMessage): void {
    const out = this.store.apply(msg);
    switch (out.kind) {
      case 'duplicate':
        this.stats.duplicates++;
        return;
      case 'held':
      case 'unknown':
        return;
      case 'gap':
        this.stats.gaps++;
        // Ask again from the last seq we hold: the server replays the rest, or sends a snapshot.
        this.subscribe(msg.device_id, 'gap', out.expected - 1, this.serverInstance);
        return;
      case 'applied': {
        this.stats.updates++;
        const { device } = out;
        this.events.emit('update', {
          device_id: msg.device_id,
          seq: msg.seq,
          action: msg.data.action,
          previous_state: msg.data.previous_state,
          new_state: msg.data.new_state,
          ...(msg.data.quality === undefined ? {} : { quality: msg.data.quality }),
          timestamp: msg.timestamp,
          device,
        });
        if (out.onlineChanged) this.events.emit(device.online ? 'online' : 'offline', { device_id: msg.device_id, device });
      }
    }
  }

  /** `device_status` with resync:true: the answer to a `since` the server could not replay. */
  private onStatus(msg: DeviceStatusMessage): void {
    if (msg.resync !== true) return;
    const req = [...this.pending.values()].find((p) => p.deviceId === msg.device_id && !p.snapshotSeen) ?? this.batched(msg.device_id, false);
    const reason: ResyncReason = req?.reason === 'new_instance' || req?.reason === 'gap' ? req.reason : 'replay_unavailable';
    if (req !== undefined) req.snapshotSeen = true;
    this.applySnapshot(msg.data, reason);
  }

  private onSubscribed(msg: SubscribedMessage): void {
    const key = msg.id === undefined ? undefined : String(msg.id);
    // The devices of a batch are answered without the request id (it closes the batch).
    const req = key === undefined ? this.batched(msg.device_id, true) : this.pending.get(key);
    if (key !== undefined) {
      this.pending.delete(key);
      this.requests.answered(key);
    }
    const id = msg.device_id;
    if (msg.data !== undefined) {
      // A snapshot: after a resync device_status it is the same one again; otherwise it starts the device.
      const current = this.store.get(id);
      // A request sent twice (after a refusal) is answered twice: the second snapshot is what we hold.
      const already = current !== undefined && current.seq === msg.data.seq && (req === undefined || req.snapshotSeen);
      if (!already) this.applySnapshot(msg.data, req?.reason ?? 'initial');
    } else if (msg.replayed !== undefined) {
      this.stats.replayed += msg.replayed;
      const device = this.store.get(id);
      if (device !== undefined && msg.seq !== undefined && device.seq < msg.seq) {
        // The replay did not bring us up to the seq the server stated: ask again.
        this.stats.gaps++;
        this.subscribe(id, 'gap', device.seq, this.serverInstance);
      } else if (device !== undefined) {
        this.store.clearResyncing(id);
        if (req?.reason === 'gap') {
          this.stats.resyncs++;
          this.events.emit('resync', { device_id: id, reason: 'gap', seq: device.seq, snapshot: false, device });
        }
      }
    }
    this.checkSynced();
  }

  /** `subscribed_batch`: every device of the batch has been answered (or got its error). */
  private onBatchDone(msg: SubscribedBatchMessage): void {
    const key = msg.id === undefined ? undefined : String(msg.id);
    const left = key === undefined ? undefined : this.batches.get(key);
    if (key === undefined || left === undefined) return; // answered twice (a resend): done already
    this.batches.delete(key);
    this.requests.answered(key);
    // Not expected from a gateway that answers in full; ask for any device left over on its own.
    for (const r of left.values()) this.subscribe(r.deviceId, r.reason, r.since, r.instance);
    this.checkSynced();
  }

  private onError(msg: Extract<ServerMessage, { type: 'error' }>): void {
    const key = msg.id === undefined ? undefined : String(msg.id);
    if (msg.error_code === 'rate_limited' && key === undefined) {
      // Some request was dropped, and it does not say which: the queue slows down and resends.
      this.stats.throttled++;
      this.requests.refused();
      return;
    }
    const batch = key === undefined ? undefined : this.batches.get(key);
    if (key !== undefined && batch !== undefined) {
      this.batches.delete(key);
      this.requests.answered(key);
      if (msg.error_code === 'invalid_message' || msg.error_code === 'unknown_action') {
        // A gateway from before the batch form: the same devices again, one message each.
        this.batchUnsupported = true;
        for (const r of batch.values()) this.subscribe(r.deviceId, r.reason, r.since, r.instance);
        this.checkSynced();
        return;
      }
    }
    // An error naming a device without an id is the answer for that device of a batch.
    const req = key === undefined ? (msg.device_id === undefined ? undefined : this.batched(msg.device_id, true)) : this.pending.get(key);
    if (key !== undefined) {
      this.pending.delete(key);
      this.requests.answered(key);
      if (key === this.listRequestId) this.listRequestId = undefined;
    }
    if (req !== undefined && msg.error_code === 'device_not_found') {
      // Gone after a restart with another configuration: stop following it.
      this.store.remove(req.deviceId);
      this.events.emit('removed', { device_id: req.deviceId });
    }
    this.events.emit('error', new GatewayClientError(msg.error_code, msg.message, req === undefined ? {} : { deviceId: req.deviceId }));
    this.checkSynced();
  }

  private applySnapshot(view: DeviceView, reason: ResyncReason): void {
    const before = this.store.get(view.device_id);
    const wasOnline = before?.online;
    const device = this.store.replace(view);
    this.stats.resyncs++;
    this.events.emit('resync', { device_id: view.device_id, reason, seq: device.seq, snapshot: true, device });
    if (wasOnline !== undefined && wasOnline !== device.online) this.events.emit(device.online ? 'online' : 'offline', { device_id: view.device_id, device });
  }

  private checkSynced(): void {
    if (!this.syncing || this.pending.size > 0 || this.batches.size > 0 || this.listRequestId !== undefined) return;
    this.syncing = false;
    this.events.emit('synced', { instance: this.serverInstance, resumed: this.resumed });
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const every = this.options.heartbeatMs ?? 15_000;
    if (every <= 0) return;
    this.lastHeard = Date.now();
    this.pingOutstanding = false;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastHeard < every) return;
      if (this.pingOutstanding) {
        this.drop(4000, `no answer for ${every * 2} ms`);
        return;
      }
      this.pingOutstanding = true;
      this.send({ action: 'ping' });
    }, every);
    // In Node, a heartbeat must not keep the process alive on its own.
    (this.heartbeatTimer as { unref?: () => void }).unref?.();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}

function detach(s: WebSocketLike): void {
  s.onopen = null;
  s.onmessage = null;
  s.onclose = null;
  // Not null: the `ws` package throws an 'error' event that has no listener.
  s.onerror = () => undefined;
}

function asClientError(err: unknown): GatewayClientError {
  if (err instanceof GatewayClientError) return err;
  return new GatewayClientError('listener_error', `an event listener threw: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
