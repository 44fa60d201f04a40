/**
 * What admins see of tokens and reloads survives the gateway: `mgw token list` shows when and
 * from where each token was last used across a restart (a clean stop, and kill -9 after the
 * table was written), and a reload refused for a broken file is in the audit trail with who
 * asked and why, as an accepted one is. Real `mgw serve` processes, real signals, the real CLI.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getJson, postJson } from '../helpers/gateway.js';
import { mgw, until } from '../cli/helpers.js';
import { AUDIT_FILE, type AuditLine, type ReloadRecord } from '../../src/platform/audit.js';
import { TOKEN_USE_FILE } from '../../src/platform/token-use.js';
import { bearer, makeTokens } from './fixtures.js';
import { motorsYaml, serve, type Daemon } from './daemon.js';

const t = makeTokens();
const dirs: string[] = [];
const running: Daemon[] = [];

function tokensYaml(): string {
  return `auth:\n  tokens:\n${t.entries.map((e) => `    - { name: ${e.name}, role: ${e.role}, hash: "${e.hash}" }`).join('\n')}\n`;
}

async function start(dir: string, yaml?: string): Promise<Daemon> {
  const d = await serve(dir, yaml ?? `${motorsYaml(dir)}\n${tokensYaml()}`);
  running.push(d);
  return d;
}

async function stop(d: Daemon, signal: NodeJS.Signals): Promise<void> {
  d.child.kill(signal);
  await d.exited;
  running.splice(running.indexOf(d), 1);
}

interface Row {
  name: string;
  last_used: string | null;
  last_remote: string | null;
}

async function list(d: Daemon, dir: string): Promise<Map<string, Row>> {
  const r = await mgw(['--json', 'token', 'list', '-c', join(dir, 'gateway.yaml')], { MGW_URL: d.url, MGW_TOKEN: t.tokens.admin });
  expect(r.code, r.stderr).toBe(0);
  return new Map(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Row)
      .map((row) => [row.name, row]),
  );
}

function reloads(dir: string): ReloadRecord[] {
  return readFileSync(join(dir, AUDIT_FILE), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditLine)
    .filter((l): l is ReloadRecord => l.action === 'reload');
}

afterAll(async () => {
  for (const d of [...running]) await stop(d, 'SIGKILL');
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('token last use across restarts', () => {
  it('is kept over a clean stop and start: mgw token list shows the same time and address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-token-use-'));
    dirs.push(dir);
    const first = await start(dir);
    expect((await getJson(`${first.url}/api/v1/devices`, bearer(t.tokens.viewer))).status).toBe(200);
    const before = (await list(first, dir)).get('viewer_token')!;
    expect(before.last_remote).toBe('127.0.0.1');
    expect(before.last_used).not.toBeNull();
    await stop(first, 'SIGTERM');
    const file = JSON.parse(readFileSync(join(dir, TOKEN_USE_FILE), 'utf8')) as { tokens: Record<string, { last_used: string; hash: string }> };
    expect(file.tokens['viewer_token']?.last_used).toBe(before.last_used);
    // Only a fingerprint of the hash is kept beside the config, never the whole hash.
    expect(JSON.stringify(file)).not.toContain(t.entries.find((e) => e.name === 'viewer_token')!.hash);

    const second = await start(dir);
    const after = await list(second, dir);
    expect(after.get('viewer_token')).toMatchObject({ last_used: before.last_used, last_remote: '127.0.0.1' });
    expect(after.get('operator_token')).toMatchObject({ last_used: null, last_remote: null });
    const human = await mgw(['token', 'list', '-c', join(dir, 'gateway.yaml')], { MGW_URL: second.url, MGW_TOKEN: t.tokens.admin });
    expect(human.stdout).toMatch(new RegExp(`viewer_token\\s+viewer\\s+never\\s+${before.last_used!.replace(/\./g, '\\.')}\\s+127\\.0\\.0\\.1`));
    expect(human.stdout).toMatch(/operator_token\s+operator\s+never\s+never\s+-/);
    await stop(second, 'SIGTERM');
  }, 90_000);

  it('is on disk once written (here by a reload): kill -9 afterwards loses none of it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-token-use-'));
    dirs.push(dir);
    const first = await start(dir);
    expect((await postJson(`${first.url}/api/v1/devices/motor_01`, { speed: 5 }, bearer(t.tokens.operator))).status).toBe(200);
    const used = (await list(first, dir)).get('operator_token')!.last_used;
    first.child.kill('SIGHUP');
    const file = join(dir, TOKEN_USE_FILE);
    await until(
      () => {
        try {
          return (JSON.parse(readFileSync(file, 'utf8')) as { tokens: Record<string, { last_used: string }> }).tokens['operator_token']?.last_used === used;
        } catch {
          return false;
        }
      },
      'the table with the operator token on disk',
      30_000,
    );
    await stop(first, 'SIGKILL');
    const second = await start(dir);
    expect((await list(second, dir)).get('operator_token')).toMatchObject({ last_used: used, last_remote: '127.0.0.1' });
    await stop(second, 'SIGTERM');
  }, 90_000);

  it('does not give a token added again under the same name the old one\'s last use', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-token-use-'));
    dirs.push(dir);
    const first = await start(dir);
    expect((await getJson(`${first.url}/api/v1/devices`, bearer(t.tokens.viewer))).status).toBe(200);
    await stop(first, 'SIGTERM');
    const fresh = makeTokens();
    const viewer = fresh.entries.find((e) => e.role === 'viewer')!;
    const yaml = `${motorsYaml(dir)}\n${tokensYaml().replace(t.entries.find((e) => e.role === 'viewer')!.hash, viewer.hash)}`;
    const second = await start(dir, yaml);
    expect((await list(second, dir)).get('viewer_token')).toMatchObject({ last_used: null, last_remote: null });
    await stop(second, 'SIGTERM');
  }, 90_000);

  it('sets a damaged table aside with a warning and starts without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-token-use-'));
    dirs.push(dir);
    writeFileSync(join(dir, TOKEN_USE_FILE), '{"version":1,"tokens":{"viewer_token":');
    const d = await start(dir);
    const warn = await d.next((l) => typeof l['msg'] === 'string' && l['msg'].includes('tokens were last used is damaged'));
    expect(warn['moved_to']).toBe(join(dir, `${TOKEN_USE_FILE}.bad`));
    expect(readFileSync(join(dir, `${TOKEN_USE_FILE}.bad`), 'utf8')).toContain('viewer_token');
    expect((await list(d, dir)).get('viewer_token')).toMatchObject({ last_used: null });
    await stop(d, 'SIGTERM');
  }, 90_000);
});

describe('refused reloads in the audit trail', () => {
  it('records a SIGHUP reload of a broken file as "signal", and a REST one with the admin and address, each with the problems', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-reload-audit-'));
    dirs.push(dir);
    const d = await start(dir);
    const config = join(dir, 'gateway.yaml');
    const good = readFileSync(config, 'utf8');

    // A schema problem: the reload is refused by validation.
    writeFileSync(config, good.replace('poll_interval_ms: 200', 'poll_interval_ms: -5'));
    d.child.kill('SIGHUP');
    await until(() => reloads(dir).length >= 1, 'the refused SIGHUP reload in the trail', 30_000);
    const [bySignal] = reloads(dir);
    expect(bySignal).toMatchObject({ action: 'reload', token: 'signal', remote: null, outcome: 'error', error_code: 'invalid_config', file: config });
    expect(bySignal!.problems!.join('\n')).toMatch(/poll_interval_ms/);

    // A file that is not YAML at all, through `mgw reload` with the admin token.
    writeFileSync(config, `${good}\n  : [unclosed\n`);
    const r = await mgw(['reload'], { MGW_URL: d.url, MGW_TOKEN: t.tokens.admin });
    expect(r.code).toBe(78);
    const byAdmin = reloads(dir)[1]!;
    expect(byAdmin).toMatchObject({ token: 'admin_token', remote: '127.0.0.1', outcome: 'error', error_code: 'invalid_config', file: config });
    expect(byAdmin.problems!.length).toBeGreaterThan(0);

    // Fixed: accepted, and recorded as ok after the two refusals.
    writeFileSync(config, good);
    expect((await mgw(['reload'], { MGW_URL: d.url, MGW_TOKEN: t.tokens.admin })).code).toBe(0);
    expect(reloads(dir).map((l) => [l.token, l.outcome])).toEqual([
      ['signal', 'error'],
      ['admin_token', 'error'],
      ['admin_token', 'ok'],
    ]);

    const table = await mgw(['audit', '--outcome', 'error', '--file', join(dir, AUDIT_FILE)], {});
    expect(table.stdout).toMatch(/signal\s+-\s+-\s+reload\s+invalid_config: .*gateway\.yaml: .*poll_interval_ms/);
    expect(table.stdout).toMatch(/admin_token\s+127\.0\.0\.1\s+-\s+reload\s+invalid_config/);
    await stop(d, 'SIGTERM');
  }, 90_000);
});
