/**
 * Browsers: a page on another site must not open our WebSocket or send control writes through a
 * technician's browser (cross-site WebSocket hijacking, CSRF), and without tokens a rebound DNS
 * name must not make a foreign page "same origin".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from '../helpers/gateway.js';
import { bearer, makeTokens, rawRequest, startSecured, type SecuredGateway, type Tokens } from './fixtures.js';

let gw: SecuredGateway;
let open: SecuredGateway;
let tokens: Tokens;
const HMI = 'https://hmi.plant.example:8443';

beforeAll(async () => {
  const t = makeTokens();
  tokens = t.tokens;
  gw = await startSecured({ auth: { tokens: t.entries, allowed_origins: [HMI], failed_attempts_per_min: 10_000 } });
  open = await startSecured();
});
afterAll(async () => {
  await gw.cleanup();
  await open.cleanup();
});

function upgradeStatus(url: string, headers: Record<string, string>): Promise<number> {
  const c = TestClient.raw(url, { headers });
  return new Promise((resolve) => {
    c.ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    c.ws.once('open', () => {
      c.close();
      resolve(101);
    });
  });
}

describe('Origin on the WebSocket upgrade', () => {
  it('refuses a page from another site even with a valid token (403, before upgrading)', async () => {
    expect(await upgradeStatus(gw.wsUrl, { ...bearer(tokens.admin), Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(gw.wsUrl, { ...bearer(tokens.admin), Origin: 'null' })).toBe(403);
    expect(await upgradeStatus(`${gw.wsUrl}?token=${tokens.viewer}`, { Origin: `http://127.0.0.1:${gw.port + 1}` })).toBe(403);
  });

  it("accepts the gateway's own origin, an allowed origin, and clients that send none", async () => {
    expect(await upgradeStatus(`${gw.wsUrl}?token=${tokens.viewer}`, { Origin: `http://127.0.0.1:${gw.port}` })).toBe(101);
    expect(await upgradeStatus(`${gw.wsUrl}?token=${tokens.viewer}`, { Origin: HMI })).toBe(101);
    expect(await upgradeStatus(gw.wsUrl, bearer(tokens.viewer))).toBe(101);
  });

  it('checks Origin without tokens too: a page must not reach a gateway on localhost', async () => {
    expect(await upgradeStatus(open.wsUrl, { Origin: 'https://evil.example' })).toBe(403);
    expect(await upgradeStatus(open.wsUrl, { Origin: `http://127.0.0.1:${open.port}` })).toBe(101);
  });
});

describe('Origin on REST', () => {
  it('refuses a control write from another site, with the way to allow a trusted HMI', async () => {
    const before = gw.gateway.registry.snapshot('motor_01')!.seq;
    const res = await rawRequest(gw.port, 'POST', '/api/v1/devices/motor_01', { ...bearer(tokens.operator), Origin: 'https://evil.example', 'Content-Type': 'application/json' }, '{"speed": 900}', { agent: false });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ error_code: 'forbidden' });
    expect(res.json.message).toMatch(/auth\.allowed_origins/);
    expect(gw.gateway.registry.snapshot('motor_01')!.state['speed']).not.toBe(900);
    expect(gw.gateway.registry.snapshot('motor_01')!.seq).toBeGreaterThanOrEqual(before);
  });

  it('accepts a control write from its own origin and from an allowed origin', async () => {
    for (const origin of [`http://127.0.0.1:${gw.port}`, HMI]) {
      const speed = 500 + Math.floor(Math.random() * 500);
      const res = await rawRequest(gw.port, 'POST', '/api/v1/devices/motor_01', { ...bearer(tokens.operator), Origin: origin, 'Content-Type': 'application/json' }, JSON.stringify({ speed }));
      expect(res.status).toBe(200);
      expect(res.json.new_state.speed).toBe(speed);
    }
  });

  it('leaves reads to the browser (no CORS headers are sent, so another site cannot read the answer)', async () => {
    const res = await rawRequest(gw.port, 'GET', '/api/v1/devices', { ...bearer(tokens.viewer), Origin: 'https://evil.example' });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('without tokens, refuses a Host name it does not know (DNS rebinding) and accepts its addresses', async () => {
    const rebound = await rawRequest(open.port, 'GET', '/api/v1/devices', { Host: `evil.example:${open.port}` });
    expect(rebound.status).toBe(403);
    expect(rebound.json.message).toMatch(/Host/);
    const write = await rawRequest(open.port, 'POST', '/api/v1/devices/motor_01', { Host: `evil.example:${open.port}`, Origin: `http://evil.example:${open.port}` }, '{"speed": 901}', { agent: false });
    expect(write.status).toBe(403);
    expect((await rawRequest(open.port, 'GET', '/api/v1/devices', { Host: `127.0.0.1:${open.port}` })).status).toBe(200);
    expect((await rawRequest(open.port, 'GET', '/api/v1/devices', { Host: `localhost:${open.port}` })).status).toBe(200);
  });
});
