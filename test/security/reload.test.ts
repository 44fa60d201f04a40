/**
 * Tokens change without a restart: a reload applies auth and limits live, closes the WebSockets
 * of a revoked token, and refuses to leave a LAN address without tokens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, getJson } from '../helpers/gateway.js';
import { validateConfig } from '../../src/config/load.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { bearer, makeTokens, startSecured, type SecuredGateway } from './fixtures.js';

const running: SecuredGateway[] = [];
const clients: TestClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const g of running.splice(0)) await g.cleanup();
});

describe('reloading auth', () => {
  it('revokes a token at once (REST and its open WebSockets), keeps the others, and adds new ones', async () => {
    const t = makeTokens();
    const gw = await startSecured({ auth: { tokens: t.entries } });
    running.push(gw);
    const revoked = await TestClient.connect(gw.wsUrl, { headers: bearer(t.tokens.operator) });
    const kept = await TestClient.connect(gw.wsUrl, { headers: bearer(t.tokens.viewer) });
    clients.push(revoked, kept);
    const fresh = newToken();
    const next = validateConfig({
      ...gw.config,
      auth: { ...gw.config.auth, tokens: [...t.entries.filter((e) => e.role !== 'operator'), { name: 'night_shift', role: 'operator', hash: hashToken(fresh) }] },
    });
    const result = await gw.gateway.reload(next);
    expect(result.restartRequired).toEqual([]);
    expect((await revoked.waitClose()).code).toBe(1008);
    expect(await kept.request({ action: 'ping' })).toMatchObject({ type: 'pong' });
    expect((await getJson(`${gw.url}/api/v1/devices`, bearer(t.tokens.operator))).status).toBe(401);
    expect((await getJson(`${gw.url}/api/v1/whoami`, bearer(fresh))).json).toMatchObject({ token: 'night_shift', role: 'operator' });
  });

  it('refuses a reload that drops every token while listening on a LAN address, and keeps the old tokens', async () => {
    const t = makeTokens();
    const gw = await startSecured({ server: { host: '0.0.0.0' }, auth: { tokens: t.entries } });
    running.push(gw);
    const next = validateConfig({ ...gw.config, auth: { ...gw.config.auth, tokens: [] } });
    await expect(gw.gateway.reload(next)).rejects.toThrow(/refusing to drop every token while listening on 0\.0\.0\.0/);
    expect((await getJson(`${gw.url}/api/v1/devices`)).status).toBe(401);
    expect((await getJson(`${gw.url}/api/v1/devices`, bearer(t.tokens.viewer))).status).toBe(200);
  });
});
