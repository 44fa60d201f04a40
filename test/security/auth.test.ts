/**
 * Who may do what: each role against each REST route and WebSocket action, with and without
 * tokens, wrong tokens and tokens in the wrong place, against a real gateway on port 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, getJson, postJson } from '../helpers/gateway.js';
import { bearer, makeTokens, rawRequest, startSecured, type SecuredGateway, type Tokens } from './fixtures.js';
import { BEARER_PROTOCOL_PREFIX } from '../../src/server/auth-guard.js';

let gw: SecuredGateway;
let tokens: Tokens;
const clients: TestClient[] = [];

beforeAll(async () => {
  const t = makeTokens();
  tokens = t.tokens;
  // A high failure budget: this file sends many wrong tokens on purpose from one address.
  gw = await startSecured({ auth: { tokens: t.entries, failed_attempts_per_min: 100_000 } });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await gw.cleanup();
});

type Who = keyof Tokens | 'none' | 'wrong';
const WHO: Who[] = ['none', 'wrong', 'viewer', 'operator', 'admin'];
const headersFor = (who: Who): Record<string, string> =>
  who === 'none' ? {} : who === 'wrong' ? bearer('mgw_' + 'A'.repeat(43)) : bearer(tokens[who]);

/** Expected status per route for each caller. */
const ROUTES: { name: string; call: (h: Record<string, string>) => Promise<{ status: number; json: any }>; expect: Record<Who, number> }[] = [
  { name: 'GET /api/v1/devices', call: (h) => getJson(`${gw.url}/api/v1/devices`, h), expect: { none: 401, wrong: 401, viewer: 200, operator: 200, admin: 200 } },
  { name: 'GET /api/v1/devices/motor_01', call: (h) => getJson(`${gw.url}/api/v1/devices/motor_01`, h), expect: { none: 401, wrong: 401, viewer: 200, operator: 200, admin: 200 } },
  { name: 'GET /api/v1/whoami', call: (h) => getJson(`${gw.url}/api/v1/whoami`, h), expect: { none: 401, wrong: 401, viewer: 200, operator: 200, admin: 200 } },
  {
    name: 'POST /api/v1/devices/motor_01',
    call: (h) => postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 100 + Math.floor(Math.random() * 1000) }, h),
    expect: { none: 401, wrong: 401, viewer: 403, operator: 200, admin: 200 },
  },
  { name: 'GET /api/v1/config', call: (h) => getJson(`${gw.url}/api/v1/config`, h), expect: { none: 401, wrong: 401, viewer: 403, operator: 403, admin: 200 } },
  { name: 'GET /healthz', call: (h) => getJson(`${gw.url}/healthz`, h), expect: { none: 200, wrong: 200, viewer: 200, operator: 200, admin: 200 } },
];

describe('REST with tokens configured', () => {
  for (const route of ROUTES) {
    for (const who of WHO) {
      it(`${route.name} as ${who} -> ${route.expect[who]}`, async () => {
        const before = gw.gateway.registry.snapshot('motor_01')!;
        const res = await route.call(headersFor(who));
        expect(res.status).toBe(route.expect[who]);
        if (res.status >= 400) {
          expect(res.json).toMatchObject({ error_code: res.status === 401 ? 'unauthorized' : 'forbidden' });
          expect(typeof res.json.message).toBe('string');
          // A refused write changed nothing.
          expect(gw.gateway.registry.snapshot('motor_01')!.state['speed']).toBe(before.state['speed']);
        }
      });
    }
  }

  it('tells who the caller is, and an admin reads the config without secrets', async () => {
    expect((await getJson(`${gw.url}/api/v1/whoami`, bearer(tokens.operator))).json).toMatchObject({ token: 'operator_token', role: 'operator', anonymous: false });
    const cfg = await getJson(`${gw.url}/api/v1/config`, bearer(tokens.admin));
    expect(cfg.json.auth.tokens).toHaveLength(3);
    expect(JSON.stringify(cfg.json)).not.toContain('sha256:');
  });

  it('answers 401 with WWW-Authenticate and says what to send', async () => {
    const res = await rawRequest(gw.port, 'GET', '/api/v1/devices');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json.message).toMatch(/Authorization: Bearer/);
  });

  it('accepts the scheme in any case but refuses a token in the query string, a cookie or Basic auth', async () => {
    expect((await getJson(`${gw.url}/api/v1/devices`, { Authorization: `bearer ${tokens.viewer}` })).status).toBe(200);
    const query = await getJson(`${gw.url}/api/v1/devices?token=${tokens.viewer}`);
    expect(query.status).toBe(401);
    expect(query.json.message).toMatch(/query/);
    expect((await getJson(`${gw.url}/api/v1/devices`, { Cookie: `token=${tokens.viewer}` })).status).toBe(401);
    const basic = Buffer.from(`x:${tokens.viewer}`).toString('base64');
    expect((await getJson(`${gw.url}/api/v1/devices`, { Authorization: `Basic ${basic}` })).status).toBe(401);
    expect((await getJson(`${gw.url}/api/v1/devices`, { Authorization: `Bearer ${tokens.viewer} extra` })).status).toBe(401);
  });

  it('logs a refused write with the address and the reason, at most 20 at once per address', async () => {
    const t = makeTokens();
    const fresh = await startSecured({ auth: { tokens: t.entries } });
    try {
      for (let i = 0; i < 25; i++) expect((await postJson(`${fresh.url}/api/v1/devices/motor_01`, { speed: 5 }, bearer(t.tokens.viewer))).status).toBe(403);
      const lines = fresh.logs.filter((l) => l.msg === 'refused');
      expect(lines[0]).toMatchObject({ code: 'forbidden', remote: expect.stringMatching(/127\.0\.0\.1/) });
      expect(String(lines[0]!['reason'])).toMatch(/viewer_token/);
      expect(lines.length).toBeGreaterThanOrEqual(20);
      expect(lines.length).toBeLessThan(25);
    } finally {
      await fresh.cleanup();
    }
  });

  it('records the token name of a write in the audit trail', async () => {
    const speed = 1234;
    expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed }, bearer(tokens.operator))).status).toBe(200);
    await gw.gateway.audit.flush();
    const { readFileSync } = await import('node:fs');
    const lines = readFileSync(gw.gateway.audit.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ token: 'operator_token', device: 'motor_02', requested: { speed }, outcome: 'ok' });
  });
});

describe('WebSocket with tokens configured', () => {
  async function refused(url: string, headers: Record<string, string> = {}, protocols?: string[]): Promise<{ status: number; body: any }> {
    const c = TestClient.raw(url, { headers }, protocols);
    return new Promise((resolve, reject) => {
      c.ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      c.ws.once('open', () => {
        c.close();
        reject(new Error('the upgrade was accepted'));
      });
    });
  }

  it('refuses the upgrade with 401 without a token or with a wrong one', async () => {
    expect(await refused(gw.wsUrl)).toMatchObject({ status: 401, body: { error_code: 'unauthorized' } });
    expect(await refused(gw.wsUrl, bearer('mgw_nope'))).toMatchObject({ status: 401 });
    expect(await refused(`${gw.wsUrl}?token=mgw_nope`)).toMatchObject({ status: 401 });
    expect(await refused(gw.wsUrl, {}, [`${BEARER_PROTOCOL_PREFIX}mgw_nope`])).toMatchObject({ status: 401 });
    // A token in a cookie or a custom header is not a token.
    expect(await refused(gw.wsUrl, { Cookie: `token=${tokens.viewer}`, 'X-Token': tokens.viewer })).toMatchObject({ status: 401 });
  });

  it('accepts a token in the Authorization header, in ?token= and as a bearer subprotocol (echoing the chosen one)', async () => {
    const byHeader = await TestClient.connect(gw.wsUrl, { headers: bearer(tokens.viewer) });
    const byQuery = await TestClient.connect(`${gw.wsUrl}?token=${tokens.viewer}`);
    const byProtocol = await TestClient.connect(gw.wsUrl, {}, ['mgw.v1', `${BEARER_PROTOCOL_PREFIX}${tokens.viewer}`]);
    clients.push(byHeader, byQuery, byProtocol);
    // The echoed subprotocol is the one without the token.
    expect(byProtocol.ws.protocol).toBe('mgw.v1');
    for (const c of [byHeader, byQuery, byProtocol]) expect(c.messages[0]).toMatchObject({ type: 'connection_established' });
  });

  it('never echoes the token: a client offering only bearer.<token> is told to offer a protocol name beside it', async () => {
    const only = await refused(gw.wsUrl, {}, [`${BEARER_PROTOCOL_PREFIX}${tokens.viewer}`]);
    expect(only).toMatchObject({ status: 400, body: { error_code: 'invalid_request' } });
    expect(only.body.message).toMatch(/\["mgw\.v1", "bearer\.<token>"\]/);
    expect(JSON.stringify(only.body)).not.toContain(tokens.viewer);
  });

  for (const role of ['viewer', 'operator', 'admin'] as const) {
    it(`lets a ${role} use every WebSocket action and receive updates`, async () => {
      const c = await TestClient.connect(gw.wsUrl, { headers: bearer(tokens[role]) });
      clients.push(c);
      expect(await c.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
      expect(await c.request({ action: 'get_all_status' })).toMatchObject({ type: 'all_devices_status' });
      expect(await c.request({ action: 'get_status', device_id: 'motor_01' })).toMatchObject({ type: 'device_status' });
      expect(await c.request({ action: 'unsubscribe', device_id: 'motor_01' })).toMatchObject({ type: 'unsubscribed' });
      expect(await c.request({ action: 'subscribe', device_id: 'motor_01' })).toMatchObject({ type: 'subscribed' });
      const speed = 2000 + Math.floor(Math.random() * 500);
      const from = c.messages.length;
      expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed }, bearer(tokens.operator))).status).toBe(200);
      await c.next((m) => m['type'] === 'device_update' && m['data'].new_state.speed === speed, 5000, from);
    });
  }
});

describe('the failed-attempt limit', () => {
  it('answers 429 to wrong tokens from an address after too many, while a right one from the same address still gets in', async () => {
    const t = makeTokens();
    const small = await startSecured({ auth: { tokens: t.entries, failed_attempts_per_min: 5 } });
    try {
      // Forgetting the token is not guessing: it does not count.
      for (let i = 0; i < 8; i++) expect((await getJson(`${small.url}/api/v1/devices`)).status).toBe(401);
      for (let i = 0; i < 5; i++) expect((await getJson(`${small.url}/api/v1/devices`, bearer(`mgw_guess${i}`))).status).toBe(401);
      const blocked = await rawRequest(small.port, 'GET', '/api/v1/devices', bearer('mgw_guess_again'));
      expect(blocked.status).toBe(429);
      expect(blocked.json.error_code).toBe('rate_limited');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const wrongWs = TestClient.raw(small.wsUrl, { headers: bearer('mgw_guess_ws') });
      const status = await new Promise<number>((resolve) => wrongWs.ws.once('unexpected-response', (_q, res) => resolve(res.statusCode ?? 0)));
      expect(status).toBe(429);
      // The operator at the same panel PC is not locked out by someone else's guesses.
      expect((await rawRequest(small.port, 'GET', '/api/v1/devices', bearer(t.tokens.viewer))).status).toBe(200);
      expect((await postJson(`${small.url}/api/v1/devices/motor_01`, { speed: 640 }, bearer(t.tokens.operator))).status).toBe(200);
      const ws = await TestClient.connect(small.wsUrl, { headers: bearer(t.tokens.viewer) });
      expect(await ws.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
      ws.close();
      // And the guesses stay locked out.
      expect((await getJson(`${small.url}/api/v1/devices`, bearer('mgw_guess_later'))).status).toBe(429);
    } finally {
      await small.cleanup();
    }
  });
});

describe('without tokens', () => {
  it('serves everyone on loopback with every right (the foundation behaviour)', async () => {
    const open = await startSecured();
    try {
      expect((await getJson(`${open.url}/api/v1/devices`)).status).toBe(200);
      expect((await postJson(`${open.url}/api/v1/devices/motor_01`, { speed: 300 })).status).toBe(200);
      expect((await getJson(`${open.url}/api/v1/whoami`)).json).toMatchObject({ token: 'anonymous', role: 'admin', auth_required: false });
      const c = await TestClient.connect(open.wsUrl);
      expect(await c.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
      c.close();
    } finally {
      await open.cleanup();
    }
  });

  it('refuses to listen on a LAN address, saying how to fix it', async () => {
    await expect(startSecured({ server: { host: '0.0.0.0' } })).rejects.toThrow(/without tokens.*mgw token add.*trusted_network/);
  });

  it('`mgw serve --host 0.0.0.0` without tokens exits 78 (a config error: systemd does not restart it) and says how to fix it', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { execFile } = await import('node:child_process');
    const dir = mkdtempSync(join(tmpdir(), 'mgw-serve-'));
    try {
      const file = join(dir, 'gateway.yaml');
      writeFileSync(file, `state_dir: ${dir}\ndevices:\n  - { id: m, driver: simulator, model: motor }\n`);
      const r = await new Promise<{ code: number; stderr: string }>((done) =>
        execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '-c', file, '--host', '0.0.0.0', '--port', '0'], { timeout: 60_000 }, (err, _out, stderr) =>
          done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
        ),
      );
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without tokens/);
      expect(r.stderr).toMatch(/mgw token add/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('listens on a LAN address when the network is declared trusted, or when tokens exist', async () => {
    const trusted = await startSecured({ server: { host: '0.0.0.0' }, auth: { trusted_network: true } });
    await trusted.cleanup();
    const secured = await startSecured({ server: { host: '0.0.0.0' }, auth: { tokens: makeTokens().entries } });
    await secured.cleanup();
  });
});
