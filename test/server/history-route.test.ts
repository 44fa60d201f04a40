import { afterEach, describe, expect, test } from 'vitest';
import { getJson, pollUntil as until, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { validateConfig } from '../../src/config/load.js';
import { hashToken, newToken } from '../../src/server/auth.js';

describe('GET /api/v1/devices/{id}/history', () => {
  const running: RunningGateway[] = [];
  afterEach(async () => {
    for (const g of running.splice(0)) await g.stop();
  });
  const start = async (input: Parameters<typeof startGateway>[0] = {}) => {
    const g = await startGateway({ log: { level: 'warn' }, history: { window_s: 60, resolution_ms: 100 }, ...input } as never);
    running.push(g);
    return g;
  };

  test('returns the recent samples of the numeric points, as columns, oldest first', async () => {
    const gw = await start();
    const url = `${gw.url}/api/v1/devices/motor_01/history`;
    const r = await until(
      () => getJson(url),
      (r) => r.json.points.current.t.length >= 3,
    );
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.points).sort()).toEqual(['actual_speed', 'current', 'speed', 'temperature']);
    const { t, v, unit } = r.json.points.current;
    expect(unit).toBe('A');
    expect(t.length).toBe(v.length);
    expect([...t].sort((a: number, b: number) => a - b)).toEqual(t);
    expect(r.json.window_s).toBe(60);
    expect(Math.abs(r.json.now - Date.now() / 1000)).toBeLessThan(5);
    // The last sample is the current value.
    const state = (await getJson(`${gw.url}/api/v1/devices/motor_01`)).json.state;
    const again = (await getJson(`${url}?point=speed`)).json.points;
    expect(Object.keys(again)).toEqual(['speed']);
    expect(again.speed.v.at(-1)).toBe(state.speed);
  });

  test('since narrows to newer samples, as epoch seconds or as seconds back from now', async () => {
    const gw = await start();
    const url = `${gw.url}/api/v1/devices/sensor_01/history?point=humidity`;
    const all = await until(
      () => getJson(url),
      (r) => r.json.points.humidity.t.length >= 4,
    );
    const ts: number[] = all.json.points.humidity.t;
    const cut = ts[ts.length - 2]!;
    const newer = await getJson(`${url}&since=${cut}`);
    expect(newer.json.points.humidity.t.every((x: number) => x >= cut)).toBe(true);
    expect(newer.json.points.humidity.t.length).toBeLessThan(ts.length);
    const back = await getJson(`${url}&since=-3600`);
    expect(back.json.since).toBeCloseTo(back.json.now - 3600, 3);
    expect(back.json.points.humidity.t.length).toBeGreaterThanOrEqual(ts.length);
    const future = await getJson(`${url}&since=${Date.now() / 1000 + 3600}`);
    expect(future.json.points.humidity.t).toEqual([]);
  });

  test('bad requests get coded errors that say what was wrong', async () => {
    const gw = await start();
    const base = `${gw.url}/api/v1/devices`;
    const cases: [string, number, string, RegExp][] = [
      [`${base}/motor_99/history`, 404, 'device_not_found', /motor_99/],
      [`${base}/motor_01/history?point=torque`, 422, 'validation_error', /motor_01\.torque: unknown point; numeric points: speed, actual_speed, current, temperature/],
      [`${base}/motor_01/history?point=running`, 422, 'validation_error', /motor_01\.running: a boolean point has no history/],
      [`${base}/motor_01/history?point=`, 400, 'invalid_request', /point must name one point/],
      [`${base}/motor_01/history?since=yesterday`, 400, 'invalid_request', /since must be seconds since the epoch .* got "yesterday"/],
      [`${base}/motor_01/history?since=`, 400, 'invalid_request', /since must be/],
      [`${base}/motor_01/history?pointz=speed`, 400, 'invalid_request', /unknown query parameter "pointz"/],
    ];
    for (const [url, status, code, message] of cases) {
      const r = await getJson(url);
      expect({ url, status: r.status, code: r.json.error_code }).toEqual({ url, status, code });
      expect(r.json.message).toMatch(message);
    }
  });

  test('needs a token when auth is on, like every read', async () => {
    const viewer = newToken();
    const gw = await start({ auth: { tokens: [{ name: 'panel', role: 'viewer', hash: hashToken(viewer) }] } } as never);
    const url = `${gw.url}/api/v1/devices/motor_01/history`;
    expect((await getJson(url)).status).toBe(401);
    expect((await getJson(url, { Authorization: `Bearer ${viewer}` })).status).toBe(200);
  });

  test('the config refuses a history that would hold too many samples per point', () => {
    expect(() => validateConfig({ history: { window_s: 86_400, resolution_ms: 100 }, devices: [{ id: 'm', driver: 'simulator', model: 'motor' }] })).toThrow(
      /history: window_s \/ resolution_ms keeps 864000 samples per point; at most 86400/,
    );
    expect(() => validateConfig({ history: { window_s: 5 }, devices: [{ id: 'm', driver: 'simulator', model: 'motor' }] })).toThrow(/history\.window_s: must be >= 10/);
  });
});
