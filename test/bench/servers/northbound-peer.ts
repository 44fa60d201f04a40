/**
 * Bench entry point for the northbound publisher: 100 devices of 5 numeric points whose values
 * change at a given rate (or as fast as the broker link takes them), published to a Mosquitto.
 *
 * argv: peer mode brokerUrl
 *   peer `gateway`: the real registry and the real northbound publisher (store, link, mode), fed
 *                   by registry.apply as a driver's report would;
 *   peer `bare`:    the same work with nothing around it: the same payloads (Sparkplug DDATA via
 *                   the same protobufjs encoding, or the JSON diff + retained state) published by
 *                   a bare mqtt.js loop. The floor.
 * IPC: -> {cmd:'ready'}; <- {cmd:'run', rate, ms} (rate in metrics/s, 0 = saturation)
 *      -> {cmd:'done', metrics}
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Writable } from 'node:stream';
import { validateConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/platform/logger.js';
import { Registry } from '../../../src/core/registry.js';
import { ControlService } from '../../../src/core/control.js';
import { AuditLog } from '../../../src/platform/audit.js';
import { TokenStore } from '../../../src/server/auth.js';
import { createNorthbound } from '../../../src/northbound/index.js';
import { DataType, encodePayload, type Metric } from '../../../src/northbound/sparkplug-payload.js';
import type { PointMap } from '../../../src/core/points.js';

const [peer, mode, url] = process.argv.slice(2) as ['gateway' | 'bare', 'sparkplug' | 'json', string];
const DEVICES = Array.from({ length: 100 }, (_, i) => `io_${String(i + 1).padStart(3, '0')}`);
const POINTS = ['ai01', 'ai02', 'ai03', 'ai04', 'ai05'];
const META: PointMap = Object.fromEntries(POINTS.map((p) => [p, { type: 'number' as const, access: 'r' as const, unit: '%', min: 0, max: 100 }]));
const log = createLogger({ level: 'warn', journald: false });
const stateDir = mkdtempSync(join(tmpdir(), 'mgw-bench-nb-'));

let tick = 0;
/** One change of one device: all five points move. */
function values(): Record<string, number> {
  tick++;
  const base = (tick % 1000) / 10;
  return { ai01: base, ai02: base + 0.1, ai03: base + 0.2, ai04: base + 0.3, ai05: base + 0.4 };
}

interface Producer {
  /** One diff of device i (5 metrics). */
  change(i: number): void;
  stream(): Writable | undefined;
}

async function gatewayProducer(): Promise<Producer> {
  const registry = new Registry({ replaySize: 100 });
  for (const id of DEVICES) registry.add({ id, name: id, device_type: 'io', driver: 'bench', points: META });
  for (const id of DEVICES) registry.apply(id, values(), 'poll');
  const config = validateConfig({
    state_dir: stateDir,
    devices: [{ id: 'unused', driver: 'simulator', model: 'io' }],
    northbound: { enabled: true, mode, mqtt: { url }, sparkplug: { group_id: 'bench', edge_node_id: 'gw' }, json: { prefix: 'bench' } },
  });
  const control = new ControlService({ registry, driverFor: () => undefined, timeoutMs: 1000 });
  const audit = new AuditLog({ file: join(stateDir, 'audit.jsonl'), log });
  const nb = createNorthbound({ config, stateDir, registry, control, audit, tokens: () => new TokenStore([]), log })!;
  registry.onDiff((d) => nb.onDiff(d));
  await nb.start();
  while (!(nb.health().ok && nb.store.length === 0)) await new Promise((r) => setTimeout(r, 20));
  return {
    change: (i) => void registry.apply(DEVICES[i]!, values(), 'poll'),
    stream: () => (nb.link as unknown as { client?: { stream?: Writable } }).client?.stream,
  };
}

async function bareProducer(): Promise<Producer> {
  const client: MqttClient = mqtt.connect(url, { reconnectPeriod: 0, queueQoSZero: false, protocolVersion: 5 });
  await new Promise((r) => client.once('connect', r));
  let seq = 0;
  let n = 0;
  return {
    change(i) {
      const id = DEVICES[i]!;
      const v = values();
      const ts = Date.now();
      if (mode === 'sparkplug') {
        const metrics: Metric[] = POINTS.map((p, k) => ({ alias: i * 5 + k + 1, timestamp: ts, datatype: DataType.Double, doubleValue: v[p]!, properties: { keys: ['Quality'], values: [{ type: DataType.Int32, intValue: 192 }] } }));
        seq = (seq + 1) % 256;
        client.publish(`spBv1.0/bench/DDATA/gw/${id}`, encodePayload({ timestamp: ts, seq, metrics }), { qos: 0 });
      } else {
        n++;
        const diff = JSON.stringify({ type: 'device_update', device_id: id, data: { device_id: id, device_type: 'io', previous_state: v, new_state: v, changed: true, action: 'poll' }, timestamp: ts / 1000, seq: n });
        const state = JSON.stringify({ device_id: id, device_type: 'io', name: id, state: v, online: true, last_update: ts / 1000, seq: n, points: META, quality: {} });
        client.publish(`bench/${id}/diff`, diff, { qos: 1 });
        client.publish(`bench/${id}/state`, state, { qos: 1, retain: true });
      }
    },
    stream: () => (client as unknown as { stream?: Writable }).stream,
  };
}

async function run(p: Producer, rate: number, ms: number): Promise<number> {
  let metrics = 0;
  let next = 0;
  const end = Date.now() + ms;
  const one = () => {
    p.change(next);
    next = (next + 1) % DEVICES.length;
    metrics += POINTS.length;
  };
  if (rate > 0) {
    // Every 10 ms, the changes due by then (open loop).
    const start = Date.now();
    while (Date.now() < end) {
      const due = Math.floor((((Date.now() - start) / 1000) * rate) / POINTS.length) * POINTS.length;
      while (metrics < due) one();
      await new Promise((r) => setTimeout(r, 10));
    }
    return metrics;
  }
  // Saturation: as fast as the socket takes it, never more than 512 KiB waiting in memory.
  while (Date.now() < end) {
    for (let k = 0; k < 50; k++) one();
    const s = p.stream();
    if (s !== undefined && s.writableLength > 524_288) await new Promise((r) => s.once('drain', r));
    else await new Promise((r) => setImmediate(r));
  }
  return metrics;
}

const producer = peer === 'gateway' ? await gatewayProducer() : await bareProducer();
process.on('message', (m: { cmd: string; rate: number; ms: number }) => {
  if (m.cmd !== 'run') return;
  void run(producer, m.rate, m.ms).then((metrics) => process.send!({ cmd: 'done', metrics }));
});
process.on('SIGTERM', () => {
  rmSync(stateDir, { recursive: true, force: true });
  process.exit(0);
});
process.send!({ cmd: 'ready' });
