/**
 * The connection to the plant broker (mqtt.js). One mqtt.js client per connection attempt, with
 * its own reconnect switched off: this file reconnects with exponential backoff and full jitter
 * (so fifty gateways do not all come back in the same millisecond after a broker restart), and
 * asks for a fresh Will before every attempt (Sparkplug's NDEATH carries the bdSeq of the session
 * it belongs to, so it changes with every connection).
 *
 * mqtt.js's own queue is not used (`queueQoSZero: false`, a new client per attempt): what could not
 * be delivered stays in the store-and-forward of the caller, which decides what to send again.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient, type Packet } from 'mqtt';
import type { Logger } from 'pino';
import type { MqttConfig } from './config.js';

export interface OutMessage {
  topic: string;
  payload: Buffer | string;
  qos: 0 | 1;
  retain: boolean;
  /** MQTT 5 properties (ignored on 3.1.1). */
  properties?: IClientPublishOptions['properties'];
}

export interface Subscription {
  topic: string;
  qos: 0 | 1;
  /**
   * A feature, not the link's purpose: a broker that refuses it (an ACL that predates it) turns
   * the feature off, with a warning, instead of failing every connection.
   */
  optional?: boolean;
}

export interface BrokerLinkOptions {
  config: MqttConfig;
  clientId: string;
  /** The Will for the next connection attempt. */
  will: () => OutMessage;
  subscriptions: () => Subscription[];
  log: Logger;
  /** The session is up and subscribed. */
  onUp: () => void;
  /** The session ended (broker gone, network, refused); a reconnect is scheduled unless stopping. */
  onDown: (reason: string) => void;
  onMessage: (topic: string, payload: Buffer, packet: Packet) => void;
  /** Random in [0, 1) for the jitter; injectable for tests. */
  random?: () => number;
}

export interface LinkCounters {
  link_up: number;
  connects_total: number;
  connect_failures_total: number;
  disconnects_total: number;
  messages_out_total: number;
  messages_in_total: number;
}

export class BrokerLink {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopping = false;
  private up = false;
  private lastError = 'not connected yet';
  readonly counters: LinkCounters = { link_up: 0, connects_total: 0, connect_failures_total: 0, disconnects_total: 0, messages_out_total: 0, messages_in_total: 0 };

  constructor(private readonly options: BrokerLinkOptions) {}

  get isUp(): boolean {
    return this.up;
  }

  /** Why the link is down (for /readyz and the STATUS line). */
  get reason(): string {
    return this.up ? 'connected' : this.lastError;
  }

  start(): void {
    this.stopping = false;
    this.connect();
  }

  /** Sends `last` (a death certificate) if connected, then disconnects cleanly. */
  async stop(last: OutMessage[] = []): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    const client = this.client;
    if (client === undefined) return;
    if (this.up) {
      for (const m of last) {
        try {
          await this.publish(m);
        } catch {
          // the broker went away at the same moment: the Will says the same
        }
      }
    }
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.client = undefined;
    this.setDown('stopped');
  }

  /** Resolves once written (QoS 0) or acknowledged (QoS 1); rejects when the session ends first. */
  publish(m: OutMessage): Promise<void> {
    const client = this.client;
    if (client === undefined || !this.up) return Promise.reject(new Error('not connected'));
    this.counters.messages_out_total++;
    return new Promise((resolve, reject) => {
      const opts: IClientPublishOptions = { qos: m.qos, retain: m.retain };
      if (m.properties !== undefined && this.options.config.protocol_version === 5) opts.properties = m.properties;
      client.publish(m.topic, m.payload, opts, (err) => (err ? reject(err) : resolve()));
    });
  }

  private connect(): void {
    const { config, log } = this.options;
    const opts: IClientOptions = {
      clientId: this.options.clientId,
      protocolVersion: config.protocol_version,
      keepalive: config.keepalive_s,
      connectTimeout: config.connect_timeout_ms,
      reconnectPeriod: 0,
      clean: true,
      queueQoSZero: false,
      resubscribe: false,
      will: toWill(this.options.will()),
    };
    try {
      if (config.username !== undefined) opts.username = config.username;
      if (config.password_file !== undefined) opts.password = readFileSync(config.password_file, 'utf8').split('\n')[0]!;
      if (config.ca_file !== undefined) opts.ca = readFileSync(config.ca_file);
      if (config.cert_file !== undefined) opts.cert = readFileSync(config.cert_file);
      if (config.key_file !== undefined) opts.key = readFileSync(config.key_file);
    } catch (err) {
      this.fail(`cannot read a credential file: ${(err as Error).message}`);
      return;
    }
    const client = mqtt.connect(config.url, opts);
    this.client = client;
    client.on('connect', () => {
      if (this.client !== client) return;
      this.attempt = 0;
      this.counters.connects_total++;
      const all = this.options.subscriptions();
      const subs = all.filter((s) => s.optional !== true);
      const optional = all.filter((s) => s.optional === true);
      const ready = () => {
        if (this.client !== client || !client.connected) return;
        this.up = true;
        this.counters.link_up = 1;
        log.info({ url: config.url, client_id: this.options.clientId }, 'broker connected');
        this.options.onUp();
      };
      // Then the optional ones, one by one (a refusal names its topic); up once all are answered.
      const withOptional = () => {
        let left = optional.length;
        if (left === 0) ready();
        for (const s of optional) {
          client.subscribe(s.topic, { qos: s.qos }, (err) => {
            if (err) log.warn({ topic: s.topic, err: err.message }, 'broker refused an optional subscription; that feature is off until it allows it');
            if (--left === 0) ready();
          });
        }
      };
      if (subs.length === 0) withOptional();
      else
        client.subscribe(
          subs.map((s) => s.topic),
          { qos: subs[0]!.qos },
          (err) => {
            if (err) {
              log.error({ err: err.message }, 'broker refused a subscription');
              client.end(true);
              return;
            }
            withOptional();
          },
        );
    });
    client.on('message', (topic, payload, packet) => {
      if (this.client !== client) return;
      this.counters.messages_in_total++;
      this.options.onMessage(topic, payload, packet);
    });
    client.on('error', (err) => {
      // The 'close' that follows schedules the reconnect; keep the reason for it.
      this.lastError = describeError(err);
    });
    client.on('close', () => {
      if (this.client !== client) return;
      const wasUp = this.up;
      if (!wasUp && !this.stopping) this.counters.connect_failures_total++;
      client.end(true);
      this.client = undefined;
      if (wasUp) {
        this.counters.disconnects_total++;
        if (this.lastError === 'not connected yet' || this.lastError === 'connected') this.lastError = 'connection closed';
        log.warn({ url: config.url, reason: this.lastError }, 'broker connection lost');
      }
      this.setDown(this.lastError);
      if (!this.stopping) this.schedule();
    });
  }

  private setDown(reason: string): void {
    const wasUp = this.up;
    this.up = false;
    this.counters.link_up = 0;
    if (wasUp) this.options.onDown(reason);
  }

  private fail(reason: string): void {
    this.lastError = reason;
    this.counters.connect_failures_total++;
    this.options.log.error({ reason }, 'broker connection not attempted');
    if (!this.stopping) this.schedule();
  }

  private schedule(): void {
    const { reconnect_min_ms: min, reconnect_max_ms: max, url } = this.options.config;
    // Full jitter (a random delay up to the exponential bound): spreads a fleet's reconnects.
    const bound = Math.min(max, min * 2 ** Math.min(this.attempt, 20));
    const delay = Math.max(min / 2, Math.round((this.options.random ?? Math.random)() * bound));
    this.attempt++;
    if (this.attempt === 1 || this.attempt % 10 === 0) this.options.log.info({ url, attempt: this.attempt, delay_ms: delay, reason: this.lastError }, 'broker reconnect scheduled');
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

function toWill(m: OutMessage): NonNullable<IClientOptions['will']> {
  return { topic: m.topic, payload: typeof m.payload === 'string' ? Buffer.from(m.payload) : m.payload, qos: m.qos, retain: m.retain };
}

function describeError(err: Error & { code?: string | number }): string {
  const code = err.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 5 || code === 135) return 'not authorized (user name or password refused)';
  if (code === 4 || code === 134) return 'bad user name or password';
  return `${err.message}${typeof code === 'string' && !err.message.includes(code) ? ` (${code})` : ''}`;
}
