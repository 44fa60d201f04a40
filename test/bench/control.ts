/**
 * Control round trip: REST POST {point: value} -> control service -> driver write -> read-back
 * -> registry diff -> WebSocket device_update at a subscribed client, against the simulator
 * (motor m1, point speed) or a pymodbus TCP peer on loopback (mb1, holding register 0). One
 * request in flight; the client (this process) measures from just before the POST to the
 * arrival of the matching update, and to the HTTP response. For Modbus, the same write + read
 * with modbus-serial alone against the same peer gives the floor.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import ModbusSerial from 'modbus-serial';
import { spawnSync } from 'node:child_process';
import { nowMs } from './lib/proc.js';
import { setRealtime, spawnScript } from './lib/spawn.js';
import { Samples, percentile } from './lib/stats.js';
import { BACKPRESSURE_BYTES } from './fanout.js';
import { startPyModbus } from '../peers/modbus.js';

export interface ControlResult {
  target: 'simulator' | 'modbus';
  iterations: number;
  wsP50Ms: number;
  wsP99Ms: number;
  httpP50Ms: number;
  httpP99Ms: number;
  /** Modbus only: writeRegister + readHoldingRegisters with modbus-serial alone. */
  rawP50Ms?: number;
  rawP99Ms?: number;
}

const WARMUP = 20;

function valueFor(i: number): number {
  // Consecutive values always differ, so every write is a change and publishes a diff.
  return 1000 + (i % 2) * 500 + (i % 400);
}

export async function controlOnce(opts: { iterations: number; target: 'simulator' | 'modbus' }): Promise<ControlResult> {
  if (opts.target === 'simulator') return roundTrips(opts.iterations, 'm1', 'speed', []);
  const peer = await startPyModbus('tcp', 0, { units: [1] });
  try {
    // The peer plays the device: on core 1 with the clients, the gateway keeps core 0.
    spawnSync('taskset', ['-a', '-p', '-c', '1', String(peer.pid)]);
    const gateway = await roundTrips(opts.iterations, 'mb1', 'setpoint', [String(peer.port)], peer.pid);
    const raw = await rawModbus(opts.iterations, peer.port, peer.pid);
    return { ...gateway, target: 'modbus', rawP50Ms: raw.p50, rawP99Ms: raw.p99 };
  } finally {
    await peer.stop();
  }
}

async function rawModbus(iterations: number, port: number, peerPid: number): Promise<{ p50: number; p99: number }> {
  const client = new ModbusSerial.default();
  await client.connectTCP('127.0.0.1', { port });
  client.setID(1);
  client.setTimeout(1000);
  const lat = new Samples();
  setRealtime([peerPid, process.pid], true);
  try {
    for (let i = 0; i < iterations + WARMUP; i++) {
      const t0 = nowMs();
      await client.writeRegister(0, valueFor(i));
      const r = await client.readHoldingRegisters(0, 1);
      if (r.data[0] !== valueFor(i)) throw new Error(`raw modbus read-back ${r.data[0]} after writing ${valueFor(i)}`);
      if (i >= WARMUP) lat.push(nowMs() - t0);
    }
  } finally {
    setRealtime([peerPid, process.pid], false);
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
  const s = lat.sorted();
  return { p50: percentile(s, 50), p99: percentile(s, 99) };
}

async function roundTrips(iterations: number, device: string, point: string, serverArgs: string[], peerPid?: number): Promise<ControlResult> {
  const server = spawnScript(0, 'servers/gateway', [String(BACKPRESSURE_BYTES), ...serverArgs]);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let ws: WebSocket | undefined;
  const rt = [server.pid, process.pid, ...(peerPid === undefined ? [] : [peerPid])];
  try {
    const { port } = await server.next<{ port: number }>('ready', 30_000);
    await waitOnline(port, device);
    ws = new WebSocket(`ws://127.0.0.1:${port}/ws/devices?devices=${device}`);
    const updates: ((value: number, at: number) => void)[] = [];
    ws.on('message', (data) => {
      const at = nowMs();
      const m = JSON.parse(data.toString()) as { type: string; data?: { action?: string; new_state?: Record<string, unknown> } };
      const v = m.data?.new_state?.[point];
      if (m.type === 'device_update' && m.data?.action === 'device_control' && typeof v === 'number') {
        for (const u of updates.splice(0)) u(v, at);
      }
    });
    await new Promise<void>((resolve, reject) => {
      ws!.once('message', () => resolve());
      ws!.once('error', reject);
    });
    const wsLat = new Samples();
    const httpLat = new Samples();
    setRealtime(rt, true);
    try {
      for (let i = 0; i < iterations + WARMUP; i++) {
        const value = valueFor(i);
        const arrived = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no device_update for ${device}.${point} = ${value} within 5 s`)), 5000);
          updates.push((s, at) => {
            if (s === value) {
              clearTimeout(timer);
              resolve(at);
            }
          });
        });
        const t0 = nowMs();
        const answered = post(agent, port, device, { [point]: value }).then(() => nowMs());
        const [tWs, tHttp] = await Promise.all([arrived, answered]);
        // The first ones are warm-up (JIT, connection), not recorded.
        if (i >= WARMUP) {
          wsLat.push(tWs - t0);
          httpLat.push(tHttp - t0);
        }
      }
    } finally {
      setRealtime(rt, false);
    }
    const w = wsLat.sorted();
    const h = httpLat.sorted();
    return { target: 'simulator', iterations, wsP50Ms: percentile(w, 50), wsP99Ms: percentile(w, 99), httpP50Ms: percentile(h, 50), httpP99Ms: percentile(h, 99) };
  } finally {
    ws?.terminate();
    agent.destroy();
    await server.stop();
  }
}

/** A control write needs the device online: a Modbus unit is after its first poll. */
async function waitOnline(port: number, device: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/devices/${device}`);
    const body = (await res.json()) as { online?: boolean };
    if (body.online === true) return;
    if (Date.now() > deadline) throw new Error(`${device} did not come online within 15 s: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function post(agent: Agent, port: number, id: string, body: unknown): Promise<void> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: `/api/v1/devices/${id}`, method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /api/v1/devices/${id} answered ${res.statusCode}: ${text}`))));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
