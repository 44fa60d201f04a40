/**
 * The WebSocket side of the registry: a consumer of diffs like the history, the alarms and the
 * northbound publisher. Each diff is serialised once and published to its device's uWS topic
 * and to the shared topics of the connections that follow every device (ws-topics.ts); uWS
 * fans it out natively to every socket subscribed to them. Diffs no socket can hear (before the
 * server listens, or to topics without subscribers: a gateway read by MQTT alone) are dropped
 * before they are serialised.
 *
 * Paced: at most TURN_BYTES of diffs are published per turn of the event loop; the rest wait, in
 * order, for the next turns. uWS writes what one turn publishes to a socket through the loop's
 * 16 KB cork buffer; past it, the socket's own buffer takes the overflow, and uWS 20.30 keeps
 * that buffer's size for the connection's life. 100 devices polled in the same tick are ~65 KB
 * per socket at once: measured, 100 clients held 2.5 MiB more than with the same diffs paced.
 * The WebSocket side calls `flush()` before it takes a snapshot or changes a subscription, so a
 * client never gets a diff after a snapshot that already holds it, nor misses one.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { ConsumerHealth, DiffConsumer } from '../core/consumer.js';
import type { DeviceDiff } from '../core/registry.js';
import type { ServerStats } from './context.js';
import { deviceUpdateMessage } from './protocol.js';
import type { DeviceTopics } from './ws-topics.js';

/** Bytes of diffs published per turn of the loop: under uWS's cork buffer (16 KB) with room for the frame headers. */
export const TURN_BYTES = 12 * 1024;
/** Past this many bytes waiting, everything goes at once: a burst is better than a growing delay. */
export const MAX_WAITING_BYTES = 1024 * 1024;

export class WebSocketPublisher implements DiffConsumer {
  readonly name = 'websocket';
  private app: Pick<TemplatedApp, 'publish' | 'numSubscribers'> | undefined;
  /** Serialised diffs not yet published, oldest first, and their bytes. */
  private waiting: { deviceId: string; message: string }[] = [];
  private head = 0;
  private waitingBytes = 0;
  /** Bytes published in this turn of the loop. */
  private turnBytes = 0;
  private turnScheduled = false;

  constructor(
    private readonly stats: ServerStats,
    private readonly topics: DeviceTopics,
  ) {}

  /** Where to publish once the server listens (every serving app); undefined after it stopped. */
  attach(app: Pick<TemplatedApp, 'publish' | 'numSubscribers'> | undefined): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.app = undefined;
    this.waiting = [];
    this.head = 0;
    this.waitingBytes = 0;
  }

  onDiff(diff: DeviceDiff): void {
    const app = this.app;
    if (app === undefined) return;
    const topics = this.topics.topicsOf(diff.device_id);
    if (!topics.some((t) => app.numSubscribers(t) > 0)) return;
    const message = deviceUpdateMessage(diff);
    this.stats.publishes++;
    if (this.head === this.waiting.length && this.turnBytes + message.length <= TURN_BYTES) {
      this.publish(app, topics, message);
    } else {
      this.waiting.push({ deviceId: diff.device_id, message });
      this.waitingBytes += message.length;
      if (this.waitingBytes > MAX_WAITING_BYTES) this.flush();
    }
    this.scheduleTurn();
  }

  /** Publishes every diff still waiting, now. */
  flush(): void {
    const app = this.app;
    while (app !== undefined && this.head < this.waiting.length) this.publishNext(app);
    this.compact();
  }

  /** Diffs waiting for a later turn of the loop (in health as `waiting`). */
  get pending(): number {
    return this.waiting.length - this.head;
  }

  /** To those of `topics` that have sockets now. */
  private publish(app: NonNullable<WebSocketPublisher['app']>, topics: readonly string[], message: string): void {
    this.turnBytes += message.length;
    for (const topic of topics) if (app.numSubscribers(topic) > 0) app.publish(topic, message, false);
  }

  private publishNext(app: NonNullable<WebSocketPublisher['app']>): void {
    const next = this.waiting[this.head]!;
    this.waiting[this.head++] = undefined as unknown as (typeof this.waiting)[number];
    this.waitingBytes -= next.message.length;
    // The device's topics as they are now: a subscription that changed while it waited counts.
    this.publish(app, this.topics.topicsOf(next.deviceId), next.message);
  }

  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      this.turnBytes = 0;
      const app = this.app;
      // At least one diff per turn, however long it is.
      while (app !== undefined && this.head < this.waiting.length && (this.turnBytes === 0 || this.turnBytes + this.waiting[this.head]!.message.length <= TURN_BYTES)) this.publishNext(app);
      this.compact();
      if (this.head < this.waiting.length || this.turnBytes > 0) this.scheduleTurn();
    });
  }

  private compact(): void {
    if (this.head === 0) return;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
  }

  health(): ConsumerHealth {
    return { ok: true, counters: { connections: this.stats.connections, publishes_total: this.stats.publishes, waiting: this.pending } };
  }
}
