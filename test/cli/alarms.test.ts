/**
 * `mgw alarms` (the built CLI as a child process) against a real gateway with tokens.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { CLI, mgw } from './helpers.js';
import { postJson } from '../helpers/gateway.js';
import { makeTokens, startSecured, type SecuredGateway } from '../security/fixtures.js';
import { waitFor } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const { tokens, entries } = makeTokens();

async function gateway(): Promise<SecuredGateway> {
  const gw = await startSecured({
    auth: { tokens: entries },
    devices: [
      { id: 'motor_01', driver: 'simulator', model: 'motor', poll_interval_ms: 50, alarms: { points: { speed: { hi: 2500, hihi: { limit: 2900, priority: 'critical', message: 'Drive at its limit' } } } } },
    ],
  });
  cleanups.push(() => gw.cleanup());
  await waitFor('online', () => gw.gateway.registry.snapshot('motor_01')!.online);
  return gw;
}

const env = (gw: SecuredGateway, token: string) => ({ MGW_URL: gw.url, MGW_TOKEN: token });

async function overspeed(gw: SecuredGateway): Promise<void> {
  expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 3000 }, { Authorization: `Bearer ${tokens.operator}` })).status).toBe(200);
}

describe('mgw alarms', () => {
  test('lists as a table and as JSON; acknowledges by id and --all; exit codes for an unknown alarm and a viewer', async () => {
    const gw = await gateway();
    expect((await mgw(['alarms'], env(gw, tokens.viewer))).stdout).toContain('no alarms');
    await overspeed(gw);
    const list = await mgw(['alarms'], env(gw, tokens.viewer));
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^2 alarms, 2 unacknowledged/);
    expect(lines[1]).toMatch(/^PRIORITY\s+STATE\s+ALARM\s+VALUE\s+SINCE\s+MESSAGE/);
    expect(lines[2]).toMatch(/^critical\s+active unack !\s+motor_01\.speed\.hihi\s+3000 rpm\s+.*Drive at its limit$/);
    const json = JSON.parse((await mgw(['--json', 'alarms'], env(gw, tokens.viewer))).stdout);
    expect(json).toMatchObject({ count: 2, counts: { critical: 1, medium: 1 } });

    const viewer = await mgw(['alarms', 'ack', 'motor_01.speed.hi'], env(gw, tokens.viewer));
    expect(viewer.code).toBe(77);
    expect(viewer.stderr).toMatch(/forbidden/);
    const unknown = await mgw(['alarms', 'ack', 'motor_01.speed.hx'], env(gw, tokens.operator));
    expect(unknown.code).toBe(65);
    expect(unknown.stderr).toMatch(/alarm_not_found/);
    const one = await mgw(['alarms', 'ack', 'motor_01.speed.hi'], env(gw, tokens.operator));
    expect(one).toMatchObject({ code: 0, stdout: 'acknowledged 1 alarm: motor_01.speed.hi\n' });
    const again = await mgw(['alarms', 'ack', 'motor_01.speed.hi'], env(gw, tokens.operator));
    expect(again.stdout).toContain('not acknowledged, it is active ack');
    const all = await mgw(['alarms', 'ack', '--all'], env(gw, tokens.operator));
    expect(all.stdout).toBe('acknowledged 1 alarm: motor_01.speed.hihi\n');
    expect((await mgw(['alarms', 'ack'], env(gw, tokens.operator))).code).toBe(64);
  });

  test('shelve --for 30m and unshelve; a bad duration is a usage error; events shows the journal', async () => {
    const gw = await gateway();
    await overspeed(gw);
    const bad = await mgw(['alarms', 'shelve', 'motor_01.speed.hi', '--for', 'later'], env(gw, tokens.operator));
    expect(bad.code).toBe(64);
    const shelved = await mgw(['alarms', 'shelve', 'motor_01.speed.hi', '--for', '30m', '--comment', 'belt swap'], env(gw, tokens.operator));
    expect(shelved).toMatchObject({ code: 0 });
    expect(shelved.stdout).toMatch(/^motor_01\.speed\.hi: shelved until /);
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')).toMatchObject({ state: 'shelved', comment: 'belt swap' });
    expect((await mgw(['alarms', 'unshelve', 'motor_01.speed.hi'], env(gw, tokens.operator))).stdout).toBe('motor_01.speed.hi: active unack\n');
    const events = await mgw(['alarms', 'events', '--device', 'motor_01'], env(gw, tokens.viewer));
    expect(events.stdout.split('\n')[1]).toMatch(/motor_01\.speed\.hi\s+unshelve\s+active_unack\s+3000 rpm\s+operator_token/);
  });

  test('--watch --json prints each transition as it happens', async () => {
    const gw = await gateway();
    const requests = gw.gateway.server.stats.httpRequests;
    const child = spawn(process.execPath, [CLI, '--json', 'alarms', '--watch'], { env: { ...process.env, ...env(gw, tokens.viewer) }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void child.kill('SIGTERM'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Subscribed to the topic, not only connected: the CLI reads the list once the answer came.
    await waitFor('subscribed', () => gw.gateway.server.stats.httpRequests > requests, 30_000);
    await overspeed(gw);
    await waitFor('two transitions printed', () => out.trim().split('\n').length >= 2 && out, 30_000);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((e) => `${e.alarm_id}:${e.transition}`).sort()).toEqual(['motor_01.speed.hi:raise', 'motor_01.speed.hihi:raise']);
  });
  test('out-of-service and return-to-service (aliases disable, enable) need an admin; both are in `mgw audit` as alarm actions', async () => {
    const gw = await gateway();
    await overspeed(gw);
    const operator = await mgw(['alarms', 'out-of-service', 'motor_01.speed.hi'], env(gw, tokens.operator));
    expect(operator.code).toBe(77);
    expect(operator.stderr).toMatch(/forbidden/);
    const out = await mgw(['alarms', 'out-of-service', 'motor_01.speed.hi', '--comment', 'sensor swap'], env(gw, tokens.admin));
    expect(out).toMatchObject({ code: 0, stdout: 'motor_01.speed.hi: out of service\n' });
    expect(gw.gateway.alarms.table.view('motor_01.speed.hi')).toMatchObject({ state: 'out_of_service', comment: 'sensor swap' });
    const twice = await mgw(['alarms', 'disable', 'motor_01.speed.hi'], env(gw, tokens.admin));
    expect(twice.code).toBe(65);
    expect(twice.stderr).toMatch(/already out of service/);
    expect((await mgw(['alarms', 'disable', 'motor_01.speed.hx'], env(gw, tokens.admin))).code).toBe(65);
    // The drive still runs too fast: back in service, the alarm is annunciated afresh.
    expect(await mgw(['alarms', 'enable', 'motor_01.speed.hi'], env(gw, tokens.admin))).toMatchObject({ code: 0, stdout: 'motor_01.speed.hi: active unack\n' });
    await mgw(['alarms', 'ack', 'motor_01.speed.hi'], env(gw, tokens.operator));

    const file = join(gw.stateDir, 'audit.jsonl');
    const records = (await mgw(['--json', 'audit', '--file', file, '--action', 'alarm'], {})).stdout.trim().split('\n').map((l) => JSON.parse(l));
    // (The operator was refused by role before reaching the alarm, and hx is no alarm: neither is an action on one.)
    expect(records.map((r) => `${r.action} ${r.requested.alarm_action} ${r.outcome}`)).toEqual(['alarm out_of_service ok', 'alarm out_of_service error', 'alarm return_to_service ok', 'alarm ack ok']);
    expect(records.find((r) => r.requested.alarm_action === 'out_of_service' && r.outcome === 'ok')).toMatchObject({ token: 'admin_token', device: 'motor_01', previous: { alarm: 'motor_01.speed.hi', state: 'active_unack' }, requested: { comment: 'sensor swap' }, new_state: { state: 'out_of_service' } });
    // Writes are not alarm actions, and alarm actions are not writes.
    const writes = (await mgw(['--json', 'audit', '--file', file, '--action', 'control'], {})).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.every((r) => r.action === 'control' && r.requested.speed === 3000)).toBe(true);
    const table = (await mgw(['audit', '--file', file, '--action', 'alarm'], {})).stdout;
    expect(table).toMatch(/admin_token\s+127\.0\.0\.1\s+motor_01\s+alarm out of service motor_01\.speed\.hi: active_unack -> out_of_service \("sensor swap"\)\s+ok/);
    expect((await mgw(['audit', '--file', file, '--action', 'alarms'], {})).code).toBe(64);
  });
});
