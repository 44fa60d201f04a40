/**
 * The audit trail and the CLI around tokens: every control write lands in
 * <state_dir>/audit.jsonl with who, where from, what it was, what was asked and how it ended;
 * restarts append; `mgw audit` filters it; `mgw token create` makes a token that works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { getJson, postJson } from '../helpers/gateway.js';
import { AUDIT_FILE, stateDir, type AuditRecord } from '../../src/platform/audit.js';
import { main } from '../../src/cli/main.js';
import { bearer, makeTokens, startSecured } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mgw-audit-'));
const file = join(dir, AUDIT_FILE);
const t = makeTokens();

function mgw(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { timeout: 60_000, env: { ...process.env, NO_COLOR: '1', ...env } }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the real CLI program in this process (fast), capturing what it prints. */
async function mgwHere(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = ((c: string | Uint8Array) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'mgw', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
  }
}

function records(): AuditRecord[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AuditRecord);
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the audit trail', () => {
  beforeAll(async () => {
    const gw = await startSecured({ auth: { tokens: t.entries } }, dir);
    try {
      const before = gw.gateway.registry.snapshot('motor_01')!.state['speed'];
      expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1111 }, bearer(t.tokens.operator))).status).toBe(200);
      expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1112, running: false }, bearer(t.tokens.admin))).status).toBe(200);
      // Stop polling first: the next poll would bring motor_02 back online before the write.
      await gw.gateway.driverList().find((d) => d.id === 'simulator')!.stop();
      gw.gateway.registry.setOnline('motor_02', false);
      expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 900 }, bearer(t.tokens.operator))).status).toBe(503);
      await gw.gateway.audit.flush();
      const [first] = records();
      expect(first).toMatchObject({ token: 'operator_token', device: 'motor_01', previous: { speed: before }, requested: { speed: 1111 }, outcome: 'ok', new_state: { speed: 1111 } });
    } finally {
      await gw.cleanup();
    }
  });

  it('records who, from where, the device, previous and requested values and the outcome of each write', () => {
    const recs = records();
    expect(recs).toHaveLength(3);
    for (const r of recs) {
      expect(Date.parse(r.time)).not.toBeNaN();
      expect(r.remote).toMatch(/127\.0\.0\.1/);
    }
    expect(recs[1]).toMatchObject({ token: 'admin_token', previous: { speed: 1111, running: true }, requested: { speed: 1112, running: false }, outcome: 'ok' });
    expect(typeof recs[1]!.seq).toBe('number');
    expect(recs[2]).toMatchObject({ token: 'operator_token', device: 'motor_02', requested: { speed: 900 }, outcome: 'error', error_code: 'device_offline' });
  });

  it('appends across restarts and never truncates', async () => {
    const gw = await startSecured({}, dir);
    try {
      expect((await postJson(`${gw.url}/api/v1/devices/sensor_01`, { temperature: 3 })).status).toBe(422); // read-only: not a write
      expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 1234 })).status).toBe(200);
      await gw.gateway.audit.flush();
    } finally {
      await gw.cleanup();
    }
    const recs = records();
    expect(recs).toHaveLength(4);
    expect(recs[3]).toMatchObject({ token: 'anonymous', device: 'motor_02', requested: { speed: 1234 }, outcome: 'ok' });
  });

  it('refuses to start when the audit file cannot be opened, saying where and what to set', async () => {
    const notADir = join(dir, 'plain-file');
    appendFileSync(notADir, 'x');
    await expect(startSecured({}, join(notADir, 'state'))).rejects.toThrow(/cannot open the audit file .*plain-file\/state\/audit\.jsonl: ENOTDIR .*state_dir/);
  });

  it('takes the state directory from the config, else STATE_DIRECTORY, else ./state', () => {
    const saved = process.env['STATE_DIRECTORY'];
    try {
      process.env['STATE_DIRECTORY'] = '/var/lib/machine-gateway:/var/lib/other';
      expect(stateDir()).toBe('/var/lib/machine-gateway');
      expect(stateDir('/srv/mgw')).toBe('/srv/mgw');
      delete process.env['STATE_DIRECTORY'];
      expect(stateDir()).toBe(resolve('state'));
    } finally {
      if (saved === undefined) delete process.env['STATE_DIRECTORY'];
      else process.env['STATE_DIRECTORY'] = saved;
    }
  });

  it('`mgw audit` shows, filters and prints JSON lines; a damaged line is reported, not fatal', async () => {
    const table = await mgwHere(['audit', '--file', file]);
    const json = await mgwHere(['--json', 'audit', '--file', file, '--device', 'motor_01', '--outcome', 'ok']);
    const last = await mgwHere(['--json', 'audit', '--file', file, '--by', 'operator_token', '--last', '1']);
    const since = await mgwHere(['--json', 'audit', '--file', file, '--since', '2099-01-01T00:00:00Z']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/TIME\s+TOKEN\s+REMOTE\s+DEVICE\s+CHANGE\s+OUTCOME/);
    expect(table.stdout).toMatch(/operator_token .*motor_01\s+speed: \S+ -> 1111\s+ok/);
    expect(table.stdout).toMatch(/device_offline/);
    const lines = json.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.requested.speed)).toEqual([1111, 1112]);
    expect(JSON.parse(last.stdout.trim())).toMatchObject({ device: 'motor_02', outcome: 'error' });
    expect(since.stdout.trim()).toBe('');
    appendFileSync(file, 'not json\n');
    const damaged = await mgwHere(['--json', 'audit', '--file', file]);
    expect(damaged.code).toBe(65);
    expect(damaged.stderr).toMatch(/audit\.jsonl:5: not a JSON line/);
    expect(damaged.stdout.trim().split('\n')).toHaveLength(4);
    const bad = await mgwHere(['audit', '--file', file, '--since', 'yesterday-ish']);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--since must be/);
  }, 120_000);
});

describe('mgw token create', () => {
  it('prints a token once and the config line; the line makes the token work with its role', async () => {
    // The installed command once, as a technician runs it; the rest in process.
    const human = await mgw(['token', 'create', 'panel_7', '--role', 'operator']);
    const json = await mgwHere(['--json', 'token', 'create', 'line_plc', '--role', 'viewer']);
    const badRole = await mgwHere(['token', 'create', 'x', '--role', 'root']);
    expect(human.code).toBe(0);
    const token = /^\s+(mgw_[A-Za-z0-9_-]{43})$/m.exec(human.stdout)![1]!;
    const line = /^\s+(- \{ name: panel_7, role: operator, hash: "sha256:[0-9a-f]{64}" \})$/m.exec(human.stdout)![1]!;
    const created = JSON.parse(json.stdout) as { name: string; role: string; token: string; hash: string };
    expect(created).toMatchObject({ name: 'line_plc', role: 'viewer' });
    expect(badRole.code).toBe(64);
    expect(badRole.stderr).toMatch(/--role must be one of viewer, operator, admin/);

    const entries = [...(parse(line) as { name: string; role: 'operator'; hash: string }[]), { name: created.name, role: 'viewer' as const, hash: created.hash }];
    const gw = await startSecured({ auth: { tokens: entries } });
    try {
      expect((await getJson(`${gw.url}/api/v1/whoami`, bearer(token))).json).toMatchObject({ token: 'panel_7', role: 'operator' });
      expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 700 }, bearer(token))).status).toBe(200);
      expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 701 }, bearer(created.token))).status).toBe(403);
      // The config holds the hash only, never the token.
      expect(JSON.stringify(gw.config)).not.toContain(token);
    } finally {
      await gw.cleanup();
    }
  }, 120_000);
});

describe('an audit file torn by a power cut', () => {
  it('ends the torn line at start, so the records of the next run stay readable', async () => {
    const { AuditLog } = await import('../../src/platform/audit.js');
    const { createLogger } = await import('../../src/platform/logger.js');
    const tornDir = mkdtempSync(join(tmpdir(), 'mgw-audit-torn-'));
    const tornFile = join(tornDir, AUDIT_FILE);
    try {
      appendFileSync(tornFile, '{"time":"2026-01-01T00:00:00.000Z","device":"motor_01"}\n{"time":"2026-01-01T00:00:01');
      const warnings: string[] = [];
      const log = createLogger({ level: 'warn', journald: false, destination: { write: (l: string) => void warnings.push(l) } });
      const audit = new AuditLog({ file: tornFile, log });
      await audit.start();
      audit.append({ time: '2026-01-02T00:00:00.000Z', device: 'motor_02' } as AuditRecord);
      await audit.stop();
      const lines = readFileSync(tornFile, 'utf8').split('\n');
      expect(lines).toEqual(['{"time":"2026-01-01T00:00:00.000Z","device":"motor_01"}', '{"time":"2026-01-01T00:00:01', '{"time":"2026-01-02T00:00:00.000Z","device":"motor_02"}', '']);
      expect(warnings.join('')).toMatch(/last line was torn/);
      // A clean file gets nothing added.
      const again = new AuditLog({ file: tornFile, log });
      await again.start();
      await again.stop();
      expect(readFileSync(tornFile, 'utf8').split('\n')).toHaveLength(4);
    } finally {
      rmSync(tornDir, { recursive: true, force: true });
    }
  });
});
