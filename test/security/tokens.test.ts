/**
 * Token management without hand-editing YAML: `mgw token add` writes the hash into the config
 * file atomically (comments, owner and mode kept) and reloads the running gateway, `revoke`
 * takes a token away (its WebSocket is closed), `list` shows expiry and last use; the audit
 * trail records each reload with the admin who asked and the tokens it changed. Expired tokens
 * are refused with the date.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestClient, getJson, postJson } from '../helpers/gateway.js';
import { mgw } from '../cli/helpers.js';
import { AUDIT_FILE, type AuditLine } from '../../src/platform/audit.js';
import { bearer, makeTokens, startSecured } from './fixtures.js';
import { motorsYaml, serve, type Daemon } from './daemon.js';

describe('mgw token add, list and revoke against a running gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mgw-tokens-'));
  const t = makeTokens();
  let gw: Daemon;
  let env: Record<string, string>;
  const configFile = join(dir, 'gateway.yaml');

  beforeAll(async () => {
    const admin = t.entries.find((e) => e.role === 'admin')!;
    const yaml = `${motorsYaml(dir)}\n# who may connect\nauth:\n  tokens:\n    - { name: ${admin.name}, role: admin, hash: "${admin.hash}" } # the site admin\n`;
    gw = await serve(dir, yaml);
    chmodSync(configFile, 0o640);
    env = { MGW_URL: gw.url, MGW_TOKEN: t.tokens.admin };
  });
  afterAll(async () => {
    gw.child.kill('SIGTERM');
    await gw.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('adds a token that works at once, keeping the file readable and its comments', async () => {
    const r = await mgw(['--json', 'token', 'add', 'panel_9', '--role', 'operator', '--expires', '2099-01-01', '-c', configFile], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const added = JSON.parse(r.stdout) as { token: string; reload: string };
    expect(added.reload).toBe('reloaded');
    const text = readFileSync(configFile, 'utf8');
    expect(text).toContain('# who may connect');
    expect(text).toContain('# the site admin');
    expect(text).toMatch(/- \{ name: panel_9, role: operator, hash: "?sha256:[0-9a-f]{64}"?, expires: "?2099-01-01"? \}/);
    expect(text).not.toContain(added.token);
    expect(statSync(configFile).mode & 0o777).toBe(0o640);
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 777 }, bearer(added.token))).status).toBe(200);

    const list = await mgw(['--json', 'token', 'list', '-c', configFile], env);
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.find((row) => row.name === 'panel_9')).toMatchObject({ role: 'operator', expires: '2099-01-01T00:00:00.000Z', expired: false, last_remote: '127.0.0.1', loaded: true });
    expect(Date.parse(rows.find((row) => row.name === 'panel_9').last_used)).toBeGreaterThan(Date.now() - 60_000);
    const human = await mgw(['token', 'list', '-c', configFile], env);
    expect(human.stdout).toMatch(/NAME\s+ROLE\s+EXPIRES\s+LAST USED\s+FROM/);
    expect(human.stdout).toMatch(/panel_9\s+operator\s+2099-01-01T00:00:00\.000Z/);

    const again = await mgw(['token', 'add', 'panel_9', '-c', configFile], env);
    expect(again.code).toBe(64);
    expect(again.stderr).toMatch(/a token named "panel_9" exists already/);
  });

  it('revokes a token: refused at once, its WebSocket closed, and the reloads are in the audit trail with the admin', async () => {
    const added = JSON.parse((await mgw(['--json', 'token', 'add', 'hmi_2', '--role', 'viewer', '-c', configFile], env)).stdout) as { token: string };
    const ws = await TestClient.connect(gw.url.replace('http', 'ws') + '/ws/devices', { headers: bearer(added.token) });
    const r = await mgw(['token', 'revoke', 'hmi_2', '-c', configFile], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/revoked hmi_2 \(viewer\) .*gateway: reloaded/);
    expect((await ws.waitClose()).code).toBe(1008);
    expect((await getJson(`${gw.url}/api/v1/devices`, bearer(added.token))).status).toBe(401);
    expect(readFileSync(configFile, 'utf8')).not.toContain('hmi_2');

    const reloads = readFileSync(join(dir, AUDIT_FILE), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditLine)
      .filter((l) => l.action === 'reload');
    expect(reloads.map((l) => l.action === 'reload' && [l.token, l.remote, l.tokens_added, l.tokens_removed])).toEqual([
      ['admin_token', '127.0.0.1', ['panel_9'], []],
      ['admin_token', '127.0.0.1', ['hmi_2'], []],
      ['admin_token', '127.0.0.1', [], ['hmi_2']],
    ]);
    const table = await mgw(['audit', '--file', join(dir, AUDIT_FILE)], env);
    expect(table.stdout).toMatch(/admin_token\s+127\.0\.0\.1\s+-\s+reload, tokens: -hmi_2/);

    const unknown = await mgw(['token', 'revoke', 'nobody', '-c', configFile], env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/no token named "nobody" \(configured: admin_token, panel_9\)/);
  });

  it('writes nothing when the result would not be a valid configuration', async () => {
    const before = readFileSync(configFile, 'utf8');
    const r = await mgw(['token', 'add', 'x', '--expires', 'someday', '-c', configFile], env);
    expect(r.code).toBe(64);
    expect(readFileSync(configFile, 'utf8')).toBe(before);
  });
});

describe('token expiry', () => {
  it('refuses an expired token with the date, and lets the others in', async () => {
    const t = makeTokens();
    const entries = t.entries.map((e) => (e.role === 'viewer' ? { ...e, expires: '2020-01-01' } : { ...e, expires: '2099-12-31T23:00:00Z' }));
    const gw = await startSecured({ auth: { tokens: entries } });
    try {
      const r = await getJson(`${gw.url}/api/v1/devices`, bearer(t.tokens.viewer));
      expect(r.status).toBe(401);
      expect(r.json.message).toMatch(/token "viewer_token" expired at 2020-01-01T00:00:00\.000Z/);
      expect((await getJson(`${gw.url}/api/v1/devices`, bearer(t.tokens.operator))).status).toBe(200);
    } finally {
      await gw.cleanup();
    }
  });
});
