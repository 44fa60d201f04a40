/**
 * 100,000 generated WebSocket messages, valid-looking and hostile, pipelined in batches of 1000
 * against a running gateway: the process never crashes, every message gets exactly one direct
 * answer (in order) that is either the right reply or a coded error, and no message changes the
 * registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ERROR_CODES } from '../../src/core/errors.js';
import { TestClient, type Msg } from '../helpers/gateway.js';
import { startSecured, type SecuredGateway } from './fixtures.js';
import { DEVICE_IDS, shortFailure, wsMessage } from './hostile.js';

const BATCH = 1000;
const RUNS = 100;
const REPLY_FOR: Record<string, string> = {
  ping: 'pong',
  get_all_status: 'all_devices_status',
  get_status: 'device_status',
  subscribe: 'subscribed',
  unsubscribe: 'unsubscribed',
};

let gw: SecuredGateway;
beforeAll(async () => {
  gw = await startSecured({
    server: { max_message_bytes: 262_144, max_backpressure_bytes: 67_108_864 },
    // The fuzzer is one fast client: limits would only turn its messages into rate_limited.
    limits: { ws_messages_per_s: 1_000_000, ws_message_burst: 1_000_000 },
    // No polling after the first read: any change of the registry would come from a message.
    devices: DEVICE_IDS.map((id) => ({ id, driver: 'simulator' as const, model: id.startsWith('motor') ? ('motor' as const) : ('sensor' as const), poll_interval_ms: 3_600_000 })),
  });
});
afterAll(async () => {
  await gw.cleanup();
});

/** Direct answers: everything but pushed updates and the resync snapshot that precedes a `subscribed`. */
const isDirect = (m: Msg) => m['type'] !== 'device_update' && !(m['type'] === 'device_status' && m['resync'] === true);

function registryState(): string {
  return JSON.stringify(gw.gateway.registry.list().map((d) => [d.device_id, d.seq, d.state, d.online]));
}

const CODES = new Set(Object.keys(ERROR_CODES));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Plain checks (expect() per message would dominate the runtime); returns what is wrong, or undefined. */
function problem(sent: string | Buffer, reply: Msg): string | undefined {
  if (typeof reply['type'] !== 'string') return 'reply without type';
  if (/\n\s+at |Error: /.test(JSON.stringify(reply))) return 'stack trace in reply';
  let parsed: unknown;
  try {
    parsed = typeof sent === 'string' ? JSON.parse(sent) : undefined;
  } catch {
    parsed = undefined;
  }
  const obj = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  const id = obj?.['id'];
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  if (reply['type'] === 'error') {
    if (!CODES.has(reply['error_code']) || reply['error_code'] === 'internal_error') return `bad error_code ${reply['error_code']}`;
    if (typeof reply['message'] !== 'string' || reply['message'] === '') return 'error without message';
    if (obj !== undefined && validId && !same(reply['id'], id)) return 'error does not echo the id';
    return undefined;
  }
  // A non-error answer only ever answers a well-formed request for that action.
  if (obj === undefined) return `${reply['type']} answer to a message that is not an object`;
  if (REPLY_FOR[obj['action'] as string] !== reply['type']) return `${reply['type']} answer to action ${JSON.stringify(obj['action'])}`;
  if (validId && !same(reply['id'], id)) return 'reply does not echo the id';
  if (reply['type'] !== 'pong' && reply['type'] !== 'all_devices_status' && !DEVICE_IDS.includes(obj['device_id'] as string)) return 'device reply for an unknown device';
  return undefined;
}

describe('WebSocket fuzzing', () => {
  it(`answers ${RUNS * BATCH} hostile messages with a reply or a coded error and never changes the registry`, async () => {
    const c = await TestClient.connect(gw.wsUrl);
    const before = registryState();
    let total = 0;
    let counts: Record<string, number> = {};
    const t0 = performance.now();
    const timing = { gen: 0, wire: 0, check: 0 };
    let tGen = t0;
    await shortFailure(fc.assert(
      fc.asyncProperty(fc.array(wsMessage(), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const tSend = performance.now();
        timing.gen += tSend - tGen;
        const from = c.messages.length;
        for (const m of batch) {
          if (typeof m === 'string') c.ws.send(m);
          else c.ws.send(m, { binary: true });
        }
        // Wait for as many direct answers as messages sent (they come in order on one socket).
        const direct: Msg[] = [];
        await c
          .next((m) => {
            if (isDirect(m)) direct.push(m);
            return direct.length >= batch.length;
          }, 30_000, from)
          .catch((err: Error) => {
            throw new Error(`only ${direct.length} of ${batch.length} answers (closed: ${JSON.stringify(c.closed)}): ${err.message.slice(0, 300)}`);
          });
        const tCheck = performance.now();
        timing.wire += tCheck - tSend;
        expect(c.closed).toBeUndefined();
        expect(direct).toHaveLength(batch.length);
        batch.forEach((m, i) => {
          const why = problem(m, direct[i]!);
          if (why !== undefined) throw new Error(`${why}: sent ${String(m).slice(0, 300)} got ${JSON.stringify(direct[i]).slice(0, 300)}`);
        });
        for (const r of direct) counts[r['type'] === 'error' ? r['error_code'] : r['type']] = (counts[r['type'] === 'error' ? r['error_code'] : r['type']] ?? 0) + 1;
        total += batch.length;
        c.messages.length = 0; // keep memory flat across runs
        tGen = performance.now();
        timing.check += tGen - tCheck;
      }),
      { numRuns: RUNS, endOnFailure: true },
    ));
    const ms = performance.now() - t0;
    expect(total).toBe(RUNS * BATCH);
    expect(registryState()).toBe(before);
    // The server still serves new clients normally.
    const fresh = await TestClient.connect(gw.wsUrl);
    expect(await fresh.request({ action: 'get_status', device_id: 'motor_01' })).toMatchObject({ type: 'device_status' });
    fresh.close();
    c.close();
    counts = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
    console.log(`ws fuzz: ${total} messages in ${Math.round(ms)} ms (${Math.round(total / (ms / 1000))} msg/s, generation included; generate ${Math.round(timing.gen)} ms, send and answer ${Math.round(timing.wire)} ms, check ${Math.round(timing.check)} ms); answers: ${JSON.stringify(counts)}`);
  }, 180_000);

  it('closes a message over server.max_message_bytes with 1009 and nothing else', async () => {
    const c = await TestClient.connect(gw.wsUrl);
    c.ws.send('{"action":"ping","pad":"' + 'x'.repeat(262_144) + '"}');
    expect((await c.waitClose()).code).toBe(1009);
    expect(c.ws.readyState).toBe(WebSocket.CLOSED);
  });
});
