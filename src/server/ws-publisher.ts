/**
 * The WebSocket side of the registry: a consumer of diffs like the history, the alarms and the
 * northbound publisher. Each diff is serialised once and published to its device's uWS topic
 * and to the shared topics of the connections that follow every device (ws-topics.ts); uWS
 * fans it out natively to every socket subscribed to them. Diffs no socket can hear (before the
 * server listens, or to topics without subscribers: a gateway read by MQTT alone) are dropped
 * before they are serialised.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { ConsumerHealth, DiffConsumer } from '../core/consumer.js';
import type { DeviceDiff } from '../core/registry.js';
import type { ServerStats } from './context.js';
import { deviceUpdateMessage } from './protocol.js';
import type { DeviceTopics } from './ws-topics.js';

export class WebSocketPublisher implements DiffConsumer {
  readonly name = 'websocket';
  private app: Pick<TemplatedApp, 'publish' | 'numSubscribers'> | undefined;

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
  }

  onDiff(diff: DeviceDiff): void {
    const app = this.app;
    if (app === undefined) return;
    let message: string | undefined;
    for (const topic of this.topics.topicsOf(diff.device_id)) {
      if (app.numSubscribers(topic) === 0) continue;
      if (message === undefined) {
        message = deviceUpdateMessage(diff);
        this.stats.publishes++;
      }
      app.publish(topic, message, false);
    }
  }

  health(): ConsumerHealth {
    return { ok: true, counters: { connections: this.stats.connections, publishes_total: this.stats.publishes } };
  }
}
