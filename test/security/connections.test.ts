/**
 * Fair shares of the WebSocket slots: one token (or one address) cannot take them all, and the
 * last few are kept for operators and admins, so whoever must stop a motor still gets in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/gateway.js';
import { ConnectionShares } from '../../src/server/limits-connections.js';
import { DEFAULT_LIMITS } from '../../src/server/limits-config.js';
import type { Principal } from '../../src/server/auth.js';
import { makeTokens, startSecured, type SecuredGateway } from './fixtures.js';

const running: SecuredGateway[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const g of running.splice(0)) await g.cleanup();
});

/** Tries to open a WebSocket with the token: the connected client, or the refusal's status and body. */
async function open(url: string, token: string): Promise<TestClient | { status: number; body: any }> {
  const c = TestClient.raw(url, { headers: { Authorization: `Bearer ${token}` } });
  const outcome = await new Promise<TestClient | { status: number; body: any }>((resolve, reject) => {
    c.ws.once('open', () => resolve(c));
    c.ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
    c.ws.once('error', reject);
  });
  if (outcome instanceof TestClient) {
    clients.push(outcome);
    await outcome.next((m) => m['type'] === 'connection_established');
  }
  return outcome;
}

describe('WebSocket connection shares', () => {
  it('one viewer token opening 100 sockets gets its share, and the operator still gets in', async () => {
    const t = makeTokens();
    const gw = await startSecured({ auth: { tokens: t.entries } });
    running.push(gw);
    const results = [];
    for (let i = 0; i < 100; i++) results.push(await open(gw.wsUrl, t.tokens.viewer));
    const opened = results.filter((r) => r instanceof TestClient);
    const refused = results.filter((r) => !(r instanceof TestClient)) as { status: number; body: any }[];
    expect(opened).toHaveLength(DEFAULT_LIMITS.ws_connections_per_token);
    expect(refused[0]).toMatchObject({ status: 503, body: { error_code: 'too_many_connections' } });
    expect(refused[0]!.body.message).toMatch(/token "viewer_token" already holds 20 .*limits\.ws_connections_per_token/);
    expect(await open(gw.wsUrl, t.tokens.operator)).toBeInstanceOf(TestClient);
  }, 60_000);

  it('keeps the last connections for operators and admins', async () => {
    const t = makeTokens();
    const gw = await startSecured({
      server: { max_connections: 6 },
      limits: { ws_connections_per_token: 100, ws_reserved_connections: 2 },
      auth: { tokens: t.entries },
    });
    running.push(gw);
    for (let i = 0; i < 4; i++) expect(await open(gw.wsUrl, t.tokens.viewer)).toBeInstanceOf(TestClient);
    const viewer = (await open(gw.wsUrl, t.tokens.viewer)) as { status: number; body: any };
    expect(viewer.status).toBe(503);
    expect(viewer.body.message).toMatch(/last 2 of 6 .* kept for operators and admins/);
    expect(await open(gw.wsUrl, t.tokens.operator)).toBeInstanceOf(TestClient);
    expect(await open(gw.wsUrl, t.tokens.admin)).toBeInstanceOf(TestClient);
    const full = (await open(gw.wsUrl, t.tokens.admin)) as { status: number; body: any };
    expect(full.body.message).toMatch(/already serves 6 .*server\.max_connections/);
    // A slot that frees up is a slot again.
    const first = clients.shift()!;
    first.close();
    await first.waitClose();
    expect(await open(gw.wsUrl, t.tokens.admin)).toBeInstanceOf(TestClient);
  });

  it('caps one remote address, except loopback', () => {
    const shares = new ConnectionShares();
    const anon: Principal = { name: 'anonymous', role: 'admin', anonymous: true };
    const limits = { ...DEFAULT_LIMITS, ws_connections_per_address: 2 };
    for (let i = 0; i < 2; i++) {
      shares.check(anon, '10.0.0.5', 100, limits);
      shares.opened(anon, '10.0.0.5');
    }
    expect(() => shares.check(anon, '10.0.0.5', 100, limits)).toThrow(/10\.0\.0\.5 already holds 2 .*limits\.ws_connections_per_address/);
    expect(() => shares.check(anon, '10.0.0.6', 100, limits)).not.toThrow();
    for (let i = 0; i < 5; i++) shares.opened(anon, '127.0.0.1');
    expect(() => shares.check(anon, '127.0.0.1', 100, limits)).not.toThrow();
    shares.closed(anon, '10.0.0.5');
    expect(() => shares.check(anon, '10.0.0.5', 100, limits)).not.toThrow();
  });
});

describe('the ?devices= list', () => {
  /** The welcome's size in bytes and the messages that came with it (errors), for a ?devices= value. */
  async function welcome(gw: SecuredGateway, devices: string): Promise<{ bytes: number; devices: number; errors: string[] }> {
    const sizes: number[] = [];
    const c = TestClient.raw(`${gw.wsUrl}?devices=${devices}`);
    c.ws.on('message', (d: Buffer) => sizes.push(d.byteLength));
    clients.push(c);
    await c.next((m) => m['type'] === 'connection_established');
    const ping = await c.request({ action: 'ping' }); // everything sent on open came before the pong
    expect(ping['type']).toBe('pong');
    const w = c.messages.find((m) => m['type'] === 'connection_established')!;
    return { bytes: sizes[0]!, devices: (w['devices'] as unknown[]).length, errors: c.messages.filter((m) => m['type'] === 'error').map((m) => m['message'] as string) };
  }

  it('counts each device once: a thousand copies of one id make the welcome of one device', async () => {
    const gw = await startSecured();
    running.push(gw);
    const one = await welcome(gw, 'motor_01');
    const many = await welcome(gw, Array(1000).fill('motor_01').join(','));
    expect(many.devices).toBe(1);
    // The same device, the same size, give or take the client id and timestamp digits.
    expect(Math.abs(many.bytes - one.bytes)).toBeLessThan(64);
    const unknown = await welcome(gw, Array.from({ length: 500 }, (_, i) => `ghost_${i}`).join(','));
    expect(unknown.devices).toBe(0);
    expect(unknown.errors).toHaveLength(11);
    expect(unknown.errors.at(-1)).toBe('490 more devices named in ?devices= were not found either');
  });

  it('refuses more distinct devices than limits.max_subscriptions, but not copies of one', async () => {
    const gw = await startSecured({ limits: { max_subscriptions: 3 } });
    running.push(gw);
    expect((await welcome(gw, 'motor_01,motor_01,motor_01,motor_01,motor_02')).devices).toBe(2);
    const c = TestClient.raw(`${gw.wsUrl}?devices=a,b,c,d`);
    clients.push(c);
    const status = await new Promise<number>((resolve) => c.ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
  });
});
