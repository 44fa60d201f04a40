/** An MQTT client for tests that records every message and lets a test wait for one. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  text: string;
}

export class Recorder {
  readonly messages: Received[] = [];
  private waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void; from: number }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m: Received = { topic, payload, retain: packet.retain, text: payload.toString('utf8') };
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (w.pred(m)) {
          w.resolve(m);
          return false;
        }
        return true;
      });
    });
  }

  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<Recorder> {
    const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    const r = new Recorder(client);
    if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
    return r;
  }

  /** Resolves with the first message (from index `from`, default: any so far) matching pred. */
  waitFor(pred: (m: Received) => boolean, what: string, timeoutMs = 15_000, from = 0): Promise<Received> {
    const seen = this.messages.slice(from).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${this.messages.length} messages`)), timeoutMs);
      this.waiters.push({ pred, from, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
