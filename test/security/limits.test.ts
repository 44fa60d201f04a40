/**
 * Limits: what one client may ask of the gateway, so a runaway script or a stalled panel cannot
 * starve the others. Real gateway, real ws clients; the buckets themselves on a fake clock.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, getJson, postJson } from '../helpers/gateway.js';
import { KeyedLimiter, MessageGate, TokenBucket } from '../../src/server/limits.js';
import { bearer, makeTokens, rawRequest, startSecured, type SecuredGateway } from './fixtures.js';

const running: SecuredGateway[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const g of running.splice(0)) await g.cleanup();
});
async function gateway(input: Parameters<typeof startSecured>[0]): Promise<SecuredGateway> {
  const g = await startSecured(input);
  running.push(g);
  return g;
}
async function client(url: string, opts = {}): Promise<TestClient> {
  const c = await TestClient.connect(url, opts);
  clients.push(c);
  return c;
}

/** Polls a condition until it holds or the deadline passes (no fixed sleeps). */
async function until(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('token buckets', () => {
  it('lets a burst through, then the sustained rate', () => {
    let t = 0;
    const b = new TokenBucket({ ratePerS: 2, burst: 3, now: () => t });
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
    expect(b.retryAfterS()).toBe(1);
    t += 500;
    expect([b.take(), b.take()]).toEqual([true, false]);
    t += 10_000;
    expect([b.take(), b.take(), b.take(), b.take()]).toEqual([true, true, true, false]);
  });

  it('keeps one bucket per key and forgets the least recently used beyond maxKeys', () => {
    const k = new KeyedLimiter({ ratePerS: 1, burst: 1, maxKeys: 2, now: () => 0 });
    expect([k.take('a'), k.take('a'), k.take('b')]).toEqual([true, false, true]);
    expect(k.available('a')).toBe(false);
    k.take('c');
    expect(k.size).toBe(2);
    expect(k.available('a')).toBe(true); // forgotten
  });

  it('answers a run of refusals once, and closes when the client keeps on', () => {
    let t = 0;
    const g = new MessageGate({ ratePerS: 1, burst: 2, refusalsBeforeClose: 3, now: () => t });
    expect([g.admit(), g.admit(), g.admit(), g.admit(), g.admit()]).toEqual(['pass', 'pass', 'refuse_and_tell', 'refuse', 'refuse']);
    expect(g.admit()).toBe('close');
    t += 1000;
    const fresh = new MessageGate({ ratePerS: 1, burst: 1, refusalsBeforeClose: 100, now: () => t });
    expect([fresh.admit(), fresh.admit()]).toEqual(['pass', 'refuse_and_tell']);
    t += 1000;
    expect([fresh.admit(), fresh.admit()]).toEqual(['pass', 'refuse_and_tell']); // a new run is told again
  });
});

describe('WebSocket message rate', () => {
  it('answers rate_limited once, drops the excess, then closes with 1008 a client that keeps on; others are untouched', async () => {
    const gw = await gateway({ limits: { ws_messages_per_s: 1, ws_message_burst: 5, ws_refusals_before_close: 20 } });
    const flooder = await client(gw.wsUrl);
    const bystander = await client(gw.wsUrl);
    for (let i = 0; i < 10; i++) flooder.send({ action: 'ping', id: i });
    const limited = await flooder.next((m) => m['type'] === 'error');
    expect(limited).toMatchObject({ error_code: 'rate_limited' });
    expect(limited['message']).toMatch(/limits\.ws_messages_per_s/);
    for (let i = 0; i < 40; i++) flooder.send({ action: 'ping', id: 100 + i });
    const closed = await flooder.waitClose();
    expect(closed.code).toBe(1008);
    const pongs = flooder.messages.filter((m) => m['type'] === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(5);
    expect(pongs).toBeLessThanOrEqual(6);
    expect(flooder.messages.filter((m) => m['error_code'] === 'rate_limited')).toHaveLength(1);
    expect(await bystander.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
  });
});

describe('REST write rate per token', () => {
  it('answers 429 to a token over its rate, changes nothing, and leaves other tokens alone', async () => {
    const t = makeTokens();
    const gw = await gateway({ auth: { tokens: t.entries }, limits: { rest_writes_per_s: 1, rest_write_burst: 3 } });
    const url = `${gw.url}/api/v1/devices/motor_01`;
    // Write until refused: the burst of 3 goes through, plus at most one refill per second that
    // the confirmed writes took (a busy machine may take longer than a second for three).
    const started = Date.now();
    let accepted = 0;
    let refused: Awaited<ReturnType<typeof postJson>> | undefined;
    for (let speed = 101; speed < 121 && refused === undefined; speed++) {
      const r = await postJson(url, { speed }, bearer(t.tokens.operator));
      if (r.status === 200) accepted++;
      else refused = r;
    }
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(accepted).toBeLessThanOrEqual(3 + Math.ceil((Date.now() - started) / 1000));
    if (refused === undefined) throw new Error('no write was refused');
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error_code: 'rate_limited' });
    expect(refused.json.message).toMatch(/operator_token/);
    expect(refused.json.retry_after_s).toBeGreaterThanOrEqual(1);
    expect(gw.gateway.registry.snapshot('motor_01')!.state['speed']).toBe(100 + accepted);
    expect((await postJson(url, { speed: 150 }, bearer(t.tokens.admin))).status).toBe(200);
    // Reads are not writes.
    expect((await getJson(url, bearer(t.tokens.operator))).status).toBe(200);
  });
});

describe('size and count limits', () => {
  it('caps subscriptions per connection with too_many_subscriptions', async () => {
    const gw = await gateway({ limits: { max_subscriptions: 2 } });
    const c = await client(`${gw.wsUrl}?devices=motor_01`);
    expect(await c.request({ action: 'subscribe', device_id: 'motor_02' })).toMatchObject({ type: 'subscribed' });
    const over = await c.request({ action: 'subscribe', device_id: 'sensor_01' });
    expect(over).toMatchObject({ type: 'error', error_code: 'too_many_subscriptions' });
    expect(over['message']).toMatch(/limits\.max_subscriptions/);
    expect(await c.request({ action: 'subscribe', device_id: 'motor_01' })).toMatchObject({ type: 'subscribed' }); // already held
    await c.request({ action: 'unsubscribe', device_id: 'motor_02' });
    expect(await c.request({ action: 'subscribe', device_id: 'sensor_01' })).toMatchObject({ type: 'subscribed' });
    // Asking for too many at connect time is refused before the upgrade.
    const tooMany = TestClient.raw(`${gw.wsUrl}?devices=motor_01,motor_02,sensor_01`);
    const status = await new Promise<number>((resolve) => tooMany.ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
  });

  it('refuses a body over server.max_body_bytes with 413 and a connection over server.max_connections with 503', async () => {
    const gw = await gateway({ server: { max_body_bytes: 1024, max_connections: 2 } });
    const big = await rawRequest(gw.port, 'POST', '/api/v1/devices/motor_01', { 'Content-Type': 'application/json' }, JSON.stringify({ speed: 1, pad: 'x'.repeat(4096) }), { agent: false });
    expect(big.status).toBe(413);
    expect(big.json.error_code).toBe('payload_too_large');
    await client(gw.wsUrl);
    await client(gw.wsUrl);
    const third = TestClient.raw(gw.wsUrl);
    const status = await new Promise<number>((resolve) => third.ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(503);
  });
});

describe('slow consumers', () => {
  it('closes a paused client once over its backpressure limit while the others keep receiving; it resumes after reconnecting', async () => {
    const gw = await gateway({ server: { max_backpressure_bytes: 16_384 }, limits: { ws_messages_per_s: 1_000_000, ws_message_burst: 1_000_000 } });
    const healthy = await client(gw.wsUrl);
    const slow = await client(`${gw.wsUrl}?client_id=stalled_panel`);
    const lastSeq = Math.max(...slow.messages[0]!['devices'].map((d: { seq: number }) => d.seq));
    // Stop reading: the kernel buffers fill, then uWS's queue for this socket grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Ask for far more than the socket buffers hold (each answer carries every device).
    const request = JSON.stringify({ action: 'get_all_status' });
    let sent = 0;
    const t0 = Date.now();
    while (gw.gateway.server.connections === 2 && sent < 200_000) {
      for (let i = 0; i < 500; i++) slow.ws.send(request);
      sent += 500;
      await new Promise((r) => setImmediate(r));
    }
    console.log(`slow consumer: ${sent} requests sent in ${Date.now() - t0} ms`);
    await until(() => gw.gateway.server.connections === 1, 'the slow client to be closed');
    // The others were not held up: the healthy client still gets a fresh write.
    const from = healthy.messages.length;
    const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1432 });
    expect(res.status).toBe(200);
    await healthy.next((m) => m['type'] === 'device_update' && m['data'].new_state.speed === 1432, 5000, from);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.waitClose(10_000);
    console.log(`slow consumer: the paused client saw close code ${closed.code}`);
    // Reconnecting brings a fresh snapshot, and `since` resumes where it stopped.
    const again = await client(`${gw.wsUrl}?client_id=stalled_panel`);
    expect(again.messages[0]).toMatchObject({ type: 'connection_established', client_id: 'stalled_panel' });
    const resumed = await again.request({ action: 'subscribe', device_id: 'motor_01', since: lastSeq, instance: gw.gateway.registry.instance });
    expect(resumed['type']).toBe('subscribed');
    console.log(`slow consumer: closed after ${sent} pipelined requests (backpressure limit 16 KiB)`);
  });

  it('closes a paused subscriber that only receives published updates, and the others keep receiving', async () => {
    const devices = Array.from({ length: 16 }, (_, i) => ({ id: `io_${i}`, driver: 'simulator' as const, model: 'io' as const, poll_interval_ms: 10 }));
    const gw = await gateway({ server: { max_backpressure_bytes: 16_384 }, devices: [...devices, { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 50 }] });
    const healthy = await client(gw.wsUrl);
    const slow = await client(gw.wsUrl);
    const t0 = Date.now();
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await until(() => gw.gateway.server.connections === 1, 'the paused subscriber to be closed', 25_000);
    console.log(`slow subscriber: closed ${Date.now() - t0} ms after it stopped reading (${gw.gateway.server.stats.publishes} diffs published)`);
    const from = healthy.messages.length;
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1433 })).status).toBe(200);
    await healthy.next((m) => m['type'] === 'device_update' && m['data'].new_state.speed === 1433, 5000, from);
    expect(healthy.closed).toBeUndefined();
  });
});
