/**
 * GET /api/v1/devices/{id}/audit: the newest audit entries of one device for the HMI's device
 * page, read from the real audit file of a real gateway; roles and bad input get coded errors.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import { stateDir } from '../../src/platform/audit.js';
import { readDeviceAudit } from '../../src/server/audit-route.js';

const viewer = newToken();
const operator = newToken();
const admin = newToken();
const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

describe('the audit route', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({
      log: { level: 'warn' },
      auth: {
        tokens: [
          { name: 'hall_panel', role: 'viewer', hash: hashToken(viewer) },
          { name: 'shift_lead', role: 'operator', hash: hashToken(operator) },
          { name: 'site_admin', role: 'admin', hash: hashToken(admin) },
        ],
      },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  test('lists the writes of one device, newest first, with who, what, when and the result', async () => {
    const empty = await getJson(`${gw.url}/api/v1/devices/motor_01/audit`, auth(operator));
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual({ device_id: 'motor_01', entries: [], limit: 20 });

    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1111 }, auth(operator))).status).toBe(200);
    expect((await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 2222 }, auth(admin))).status).toBe(200);
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1333 }, auth(admin))).status).toBe(200);
    expect((await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 99999 }, auth(operator))).status).toBe(422);

    const r = await getJson(`${gw.url}/api/v1/devices/motor_01/audit?limit=5`, auth(operator));
    expect(r.status).toBe(200);
    const entries = r.json.entries as Record<string, any>[];
    // The refused write never reached the device, so it is in the log, not the trail.
    expect(entries.map((e) => [e.token, e.requested.speed, e.outcome])).toEqual([
      ['site_admin', 1333, 'ok'],
      ['shift_lead', 1111, 'ok'],
    ]);
    expect(entries[0]).toMatchObject({ kind: 'control', previous: { speed: 1111 }, new_state: { speed: 1333 }, remote: '127.0.0.1' });
    expect(Date.parse(entries[0]!['time'])).toBeGreaterThan(Date.parse(entries[1]!['time']) - 1);
    // Another device's trail holds only its own write.
    const other = await getJson(`${gw.url}/api/v1/devices/motor_02/audit`, auth(admin));
    expect(other.json.entries.map((e: any) => e.requested.speed)).toEqual([2222]);
    // limit cuts from the oldest end.
    const one = await getJson(`${gw.url}/api/v1/devices/motor_01/audit?limit=1`, auth(admin));
    expect(one.json.entries.map((e: any) => e.requested.speed)).toEqual([1333]);
  });

  test('a viewer is refused with 403 forbidden naming the role needed; no token is 401', async () => {
    const v = await getJson(`${gw.url}/api/v1/devices/motor_01/audit`, auth(viewer));
    expect(v.status).toBe(403);
    expect(v.json.error_code).toBe('forbidden');
    expect(v.json.message).toBe('token "hall_panel" has role viewer; the audit trail needs role operator or higher');
    const none = await getJson(`${gw.url}/api/v1/devices/motor_01/audit`);
    expect(none.status).toBe(401);
    expect(none.json.error_code).toBe('unauthorized');
  });

  test('bad input: a coded error saying what was wrong', async () => {
    for (const [q, msg] of [
      ['limit=0', /limit must be a whole number from 1 to 200, got "0"/],
      ['limit=201', /from 1 to 200, got "201"/],
      ['limit=ten', /got "ten"/],
      ['limit=1.5', /got "1.5"/],
      ['since=1h', /unknown query parameter "since"; use limit/],
    ] as const) {
      const r = await getJson(`${gw.url}/api/v1/devices/motor_01/audit?${q}`, auth(operator));
      expect(r.status, q).toBe(400);
      expect(r.json.error_code).toBe('invalid_request');
      expect(r.json.message).toMatch(msg);
    }
    const missing = await getJson(`${gw.url}/api/v1/devices/no_such/audit`, auth(operator));
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error_code: 'device_not_found', message: 'Device no_such not found' });
    const post = await postJson(`${gw.url}/api/v1/devices/motor_01/audit`, {}, auth(admin));
    expect(post.status).toBe(404);
    expect(post.json.error_code).toBe('not_found');
  });

  test('reads a long trail from its end, across blocks, skipping torn and foreign lines', async () => {
    const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
    const long = join(stateDir(gw.config.state_dir), 'long.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const device = i % 3 === 0 ? 'sensor_01' : 'motor_02';
      lines.push(JSON.stringify({ time: at(i), action: 'control', token: 't', remote: null, device, previous: { speed: i - 1 }, requested: { speed: i, pad: 'x'.repeat(i % 97) }, outcome: 'ok' }));
      if (i === 2990) lines.push('{"time": "torn');
      if (i === 2995) lines.push(JSON.stringify({ time: at(i), action: 'reload', token: 'signal', remote: null, outcome: 'ok', tokens_added: [], tokens_removed: [], tokens_changed: [] }));
    }
    writeFileSync(long, `${lines.join('\n')}\n`);
    const newest = await readDeviceAudit(long, 'sensor_01', 200);
    expect(newest).toHaveLength(200);
    expect(newest.map((e) => e.requested['speed'])).toEqual(Array.from({ length: 200 }, (_, k) => 2997 - 3 * k));
    // Every entry of a device, from the first block to the last.
    const all = await readDeviceAudit(long, 'sensor_01', 5000);
    expect(all).toHaveLength(1000);
    expect(all.at(-1)!.requested['speed']).toBe(0);
    // No trail yet: no entries.
    expect(await readDeviceAudit(join(stateDir(gw.config.state_dir), 'none.jsonl'), 'motor_01', 5)).toEqual([]);
  });
});
