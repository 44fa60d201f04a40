/**
 * The benchmark's own instruments: the load generator's raw WebSocket client against a real
 * gateway (handshake, unmasked frames split across TCP chunks, fragmented messages, per-device
 * seq), and the wrk output parser. A broken instrument would make every benchmark figure wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawWsClient } from '../bench/lib/rawws.js';
import { parseWrk } from '../bench/http.js';
import { percentile } from '../bench/lib/stats.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway();
});

afterAll(async () => {
  await gw.stop();
});

/** Text messages a RawWsClient hands over on /ws/devices until `enough` says so (at most 10 s). */
async function readMessages(port: number, enough: (texts: string[]) => boolean): Promise<string[]> {
  const texts: string[] = [];
  let client: RawWsClient | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not enough messages within 10 s (${texts.length} so far)`)), 10_000);
      client = new RawWsClient({
        host: '127.0.0.1',
        port,
        path: '/ws/devices',
        handlers: {
          open: () => undefined,
          message: (text) => {
            texts.push(text);
            if (enough(texts)) {
              clearTimeout(timer);
              resolve();
            }
          },
          close: (reason) => {
            clearTimeout(timer);
            reject(new Error(reason));
          },
        },
      });
      client.start();
    });
  } finally {
    client?.stop();
  }
  return texts;
}

describe('raw WebSocket client of the load generator', () => {
  it('receives the snapshot, then device_update messages with increasing seq per device', async () => {
    const isUpdate = (m: Record<string, any>) => m['type'] === 'device_update' && m['device_id'] === 'motor_01';
    const texts = await readMessages(gw.port, (t) => t.filter((x) => isUpdate(JSON.parse(x))).length >= 5);
    const messages = texts.map((t) => JSON.parse(t) as Record<string, any>);
    expect(messages[0]!['type']).toBe('connection_established');
    // The snapshot is several KB: it arrives as a 16-bit-length frame, often over several chunks.
    expect(JSON.stringify(messages[0]).length).toBeGreaterThan(125);
    const baseline = (messages[0]!['devices'] as { device_id: string; seq: number }[]).find((d) => d.device_id === 'motor_01')!.seq;
    const seqs = messages.filter(isUpdate).map((m) => m['seq'] as number);
    expect(seqs[0]).toBe(baseline + 1);
    seqs.forEach((s, i) => expect(s).toBe(seqs[0]! + i));
  });

  it('puts a fragmented welcome back together (a gateway of 40 devices sends it in 8K-character fragments)', async () => {
    const big = await startGateway({
      devices: Array.from({ length: 40 }, (_, i) => ({ id: `rio_${String(i + 1).padStart(2, '0')}`, driver: 'simulator', model: 'io', poll_interval_ms: 1000 })),
    } as never);
    try {
      const [welcome] = await readMessages(big.port, (t) => t.length >= 1);
      // Over 16K characters goes out fragmented; the client hands over the whole message once.
      expect(welcome!.length).toBeGreaterThan(16 * 1024);
      const msg = JSON.parse(welcome!) as { type: string; devices: unknown[] };
      expect(msg.type).toBe('connection_established');
      expect(msg.devices).toHaveLength(40);
    } finally {
      await big.stop();
    }
  });

  it('reports a refused upgrade as a close with the status line', async () => {
    const reason = await new Promise<string>((resolve) => {
      const c = new RawWsClient({
        host: '127.0.0.1',
        port: gw.port,
        path: '/no/such/socket',
        handlers: { open: () => resolve('opened'), message: () => undefined, close: resolve },
      });
      c.start();
    });
    expect(reason).toMatch(/^upgrade refused: HTTP\/1.1 (404|400)/);
  });
});

describe('wrk output parser', () => {
  it('reads requests/s and latency percentiles in any unit, and counts errors', () => {
    const out = [
      'Running 1s test @ http://127.0.0.1:1/api/v1/devices/b0',
      '  Latency Distribution',
      '     50%  812.00us',
      '     75%    1.10ms',
      '     90%    1.50ms',
      '     99%    2.25s',
      '  Socket errors: connect 0, read 2, write 0, timeout 1',
      '  Non-2xx or 3xx responses: 4',
      'Requests/sec:  12345.67',
    ].join('\n');
    expect(parseWrk(out)).toEqual({ requestsPerS: 12345.67, latencyP50Ms: 0.812, latencyP99Ms: 2250, errors: 7 });
    expect(() => parseWrk('wrk: connection refused')).toThrow(/unexpected wrk output/);
  });

  it('percentile picks the nearest rank', () => {
    const s = Float64Array.from({ length: 1000 }, (_, i) => i + 1);
    expect(percentile(s, 50)).toBe(500);
    expect(percentile(s, 99)).toBe(990);
    expect(percentile(s, 99.9)).toBe(999);
  });
});
