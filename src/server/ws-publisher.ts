/**
 * The WebSocket side of the registry: a consumer of diffs like the history, the alarms and the
 * northbound publisher. Each diff is serialised once and published to its device's uWS topic;
 * uWS fans it out natively to every socket subscribed to it. Diffs no socket can hear (before
 * the server listens, or to a topic without subscribers: a gateway read by MQTT alone) are
 * dropped before they are serialised.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import type { ConsumerHealth, DiffConsumer } from '../core/consumer.js';
import type { DeviceDiff } from '../core/registry.js';
import type { ServerStats } from './context.js';
import { deviceUpdateMessage } from './protocol.js';

export class WebSocketPublisher implements DiffConsumer {
  readonly name = 'websocket';
  private app: Pick<TemplatedApp, 'publish' | 'numSubscribers'> | undefined;

  constructor(private readonly stats: ServerStats) {}

  /** Where to publish once the server listens (every serving app); undefined after it stopped. */
  attach(app: Pick<TemplatedApp, 'publish' | 'numSubscribers'> | undefined): void {
    this.app = app;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    this.app = undefined;
  }

  onDiff(diff: DeviceDiff): void {
    if (this.app === undefined || this.app.numSubscribers(diff.device_id) === 0) return;
    this.stats.publishes++;
    this.app.publish(diff.device_id, deviceUpdateMessage(diff), false);
  }

  health(): ConsumerHealth {
    return { ok: true, counters: { connections: this.stats.connections, publishes_total: this.stats.publishes } };
  }
}
