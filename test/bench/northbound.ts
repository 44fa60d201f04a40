/**
 * Northbound publishing: metrics/s and publisher CPU per published metric, the real gateway
 * publisher against a bare mqtt.js loop doing the same work (the floor), at saturation and at a
 * realistic rate, with RSS. Mosquitto and the counting subscriber on core 1, the publisher on core 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { cpuSeconds, rssMiB } from './lib/proc.js';
import { spawnScript } from './lib/spawn.js';

export type NorthboundPeer = 'gateway' | 'bare';
export type NorthboundMode = 'sparkplug' | 'json';

export const NORTHBOUND_PEERS: Record<NorthboundPeer, string> = {
  gateway: 'gateway northbound publisher (registry -> store/link -> mqtt.js)',
  bare: 'bare mqtt.js loop, same payloads (floor)',
};

export interface NorthboundResult {
  peer: NorthboundPeer;
  mode: NorthboundMode;
  rate: number;
  metricsPerS: number;
  cpuUsPerMetric: number;
  rssMiB: number;
  /** Messages the subscriber got / messages expected (QoS 0 may be dropped by the broker at saturation). */
  deliveredMessages: number;
}

export class BenchBroker {
  private proc: ChildProcess | undefined;
  private dir = mkdtempSync(join(tmpdir(), 'mgw-bench-mosq-'));
  port = 0;
  received = 0;
  private sub: mqtt.MqttClient | undefined;

  async start(): Promise<void> {
    this.port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    writeFileSync(join(this.dir, 'm.conf'), `user ${userInfo().username}\npersistence false\nlog_dest stderr\nlog_type error\nlog_type information\nlistener ${this.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n`);
    const proc = spawn('taskset', ['-c', '1', 'mosquitto', '-c', join(this.dir, 'm.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let text = '';
      proc.stderr!.on('data', (d: Buffer) => {
        text += d.toString();
        if (/running/.test(text)) resolve();
      });
      proc.once('exit', (c) => reject(new Error(`mosquitto exited ${c}: ${text}`)));
    });
    this.sub = mqtt.connect(`mqtt://127.0.0.1:${this.port}`, { reconnectPeriod: 0 });
    await new Promise((r) => this.sub!.once('connect', r));
    this.sub.on('message', () => this.received++);
    await this.sub.subscribeAsync(['spBv1.0/bench/#', 'bench/#'], { qos: 0 });
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.sub?.endAsync(true);
    this.proc?.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function northboundOnce(broker: BenchBroker, peer: NorthboundPeer, mode: NorthboundMode, rate: number, ms: number): Promise<NorthboundResult> {
  const child = spawnScript(0, 'servers/northbound-peer', [peer, mode, broker.url]);
  try {
    await child.next('ready', 30_000);
    // Settle after start-up (births, the first values).
    await new Promise((r) => setTimeout(r, 300));
    const before = broker.received;
    const cpu0 = cpuSeconds(child.pid);
    const t0 = performance.now();
    child.send({ cmd: 'run', rate, ms });
    const done = await child.next<{ metrics: number }>('done', ms + 30_000);
    const wall = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(child.pid) - cpu0;
    const rss = rssMiB(child.pid);
    // Let the broker deliver what is on its way before counting.
    await new Promise((r) => setTimeout(r, 500));
    const perChange = mode === 'json' ? 2 : 1;
    const expected = (done.metrics / 5) * perChange;
    return { peer, mode, rate, metricsPerS: done.metrics / wall, cpuUsPerMetric: (cpu * 1e6) / done.metrics, rssMiB: rss, deliveredMessages: (broker.received - before) / expected };
  } finally {
    await child.stop();
  }
}
