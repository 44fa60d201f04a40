/**
 * Control round trip against the simulator: REST POST {speed} -> control service -> driver
 * write -> read-back -> registry diff -> WebSocket device_update at a subscribed client.
 * One request in flight; the client (this process) measures from just before the POST to the
 * arrival of the matching update, and to the HTTP response.
 */
import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { nowMs } from './lib/proc.js';
import { setRealtime, spawnScript } from './lib/spawn.js';
import { Samples, percentile } from './lib/stats.js';

export interface ControlResult {
  iterations: number;
  wsP50Ms: number;
  wsP99Ms: number;
  httpP50Ms: number;
  httpP99Ms: number;
}

export async function controlOnce(opts: { iterations: number }): Promise<ControlResult> {
  const server = spawnScript(0, 'servers/gateway');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let ws: WebSocket | undefined;
  try {
    const { port } = await server.next<{ port: number }>('ready', 30_000);
    ws = new WebSocket(`ws://127.0.0.1:${port}/ws/devices?devices=m1`);
    const updates: ((speed: number, at: number) => void)[] = [];
    ws.on('message', (data) => {
      const at = nowMs();
      const m = JSON.parse(data.toString()) as { type: string; data?: { action?: string; new_state?: { speed?: number } } };
      if (m.type === 'device_update' && m.data?.action === 'device_control' && typeof m.data.new_state?.speed === 'number') {
        for (const u of updates.splice(0)) u(m.data.new_state.speed, at);
      }
    });
    await new Promise<void>((resolve, reject) => {
      ws!.once('message', () => resolve());
      ws!.once('error', reject);
    });
    const wsLat = new Samples();
    const httpLat = new Samples();
    setRealtime([server.pid, process.pid], true);
    try {
      for (let i = 0; i < opts.iterations + 20; i++) {
        const speed = 1000 + (i % 2) * 500 + (i % 400);
        const arrived = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no device_update for speed ${speed} within 5 s`)), 5000);
          updates.push((s, at) => {
            if (s === speed) {
              clearTimeout(timer);
              resolve(at);
            }
          });
        });
        const t0 = nowMs();
        const answered = post(agent, port, 'm1', { speed }).then(() => nowMs());
        const [tWs, tHttp] = await Promise.all([arrived, answered]);
        // The first 20 are warm-up (JIT, connection), not recorded.
        if (i >= 20) {
          wsLat.push(tWs - t0);
          httpLat.push(tHttp - t0);
        }
      }
    } finally {
      setRealtime([server.pid, process.pid], false);
    }
    const w = wsLat.sorted();
    const h = httpLat.sorted();
    return { iterations: opts.iterations, wsP50Ms: percentile(w, 50), wsP99Ms: percentile(w, 99), httpP50Ms: percentile(h, 50), httpP99Ms: percentile(h, 99) };
  } finally {
    ws?.terminate();
    agent.destroy();
    await server.stop();
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
