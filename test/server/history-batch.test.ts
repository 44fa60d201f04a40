/**
 * The batch form of the history route, `GET /api/v1/history?devices=a,b&since=...`, and the
 * area and line a device carries from the config into every device view.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { getJson, pollUntil as until, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';
import { loadConfigFile, validateConfig } from '../../src/config/load.js';
import { hashToken, newToken } from '../../src/server/auth.js';

const PLACED = [
  { id: 'motor_01', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 50, area: 'hall-2', line: 'line-3' },
  { id: 'motor_02', driver: 'simulator' as const, model: 'motor' as const, poll_interval_ms: 50, area: 'hall-2' },
  { id: 'sensor_01', driver: 'simulator' as const, model: 'sensor' as const, poll_interval_ms: 50 },
];

describe('GET /api/v1/history (batch)', () => {
  const running: RunningGateway[] = [];
  afterEach(async () => {
    for (const g of running.splice(0)) await g.stop();
  });
  const start = async (input: Parameters<typeof startGateway>[0] = {}) => {
    const g = await startGateway({ log: { level: 'warn' }, history: { window_s: 60, resolution_ms: 100 }, devices: PLACED, ...input } as never);
    running.push(g);
    return g;
  };

  test('answers the numeric points of every named device in one reply, the same samples as the single form', async () => {
    const gw = await start();
    const url = `${gw.url}/api/v1/history?devices=motor_01,sensor_01`;
    const r = await until(
      () => getJson(url),
      (r) => r.status !== 200 || (r.json.devices.motor_01.points.current.t.length >= 3 && r.json.devices.sensor_01.points.humidity.t.length >= 3),
    );
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.devices)).toEqual(['motor_01', 'sensor_01']);
    expect(Object.keys(r.json.devices.motor_01.points).sort()).toEqual(['actual_speed', 'current', 'speed', 'temperature']);
    expect(Object.keys(r.json.devices.sensor_01.points).sort()).toEqual(['humidity', 'temperature']);
    expect(r.json.devices.motor_01.points.current.unit).toBe('A');
    expect(r.json.window_s).toBe(60);
    // The setpoint does not move by itself: the batch and the single form hold the same samples.
    const single = await getJson(`${gw.url}/api/v1/devices/motor_01/history?point=speed`);
    expect(r.json.devices.motor_01.points.speed).toEqual(single.json.points.speed);
  });

  test('since narrows every device to the missing span only', async () => {
    const gw = await start();
    const all = await until(
      () => getJson(`${gw.url}/api/v1/history?devices=sensor_01,motor_01`),
      (r) => r.json.devices.sensor_01.points.humidity.t.length >= 4,
    );
    const ts: number[] = all.json.devices.sensor_01.points.humidity.t;
    const cut = ts[ts.length - 2]!;
    const newer = await getJson(`${gw.url}/api/v1/history?devices=sensor_01,motor_01&since=${cut}`);
    expect(newer.json.since).toBe(cut);
    for (const d of Object.values(newer.json.devices) as { points: Record<string, { t: number[] }> }[]) {
      for (const p of Object.values(d.points)) expect(p.t.every((x) => x >= cut)).toBe(true);
    }
    expect(newer.json.devices.sensor_01.points.humidity.t.length).toBeLessThan(ts.length);
    const back = await getJson(`${gw.url}/api/v1/history?devices=sensor_01&since=-30`);
    expect(back.json.since).toBeCloseTo(back.json.now - 30, 3);
  });

  test('bad requests get coded errors that name the field and the device', async () => {
    const gw = await start();
    const base = `${gw.url}/api/v1/history`;
    const cases: [string, number, string, RegExp][] = [
      [base, 400, 'invalid_request', /devices is required/],
      [`${base}?devices=`, 400, 'invalid_request', /devices is required/],
      [`${base}?devices=motor_01,,sensor_01`, 400, 'invalid_request', /devices has an empty entry/],
      [`${base}?devices=motor_01&devices=sensor_01`, 400, 'invalid_request', /devices must be given once/],
      [`${base}?devices=motor_01,motor_99`, 404, 'device_not_found', /Device motor_99 not found/],
      [`${base}?devices=motor%2F01`, 400, 'invalid_request', /devices: "motor\/01" is not a device id/],
      [`${base}?devices=motor_01&since=soon`, 400, 'invalid_request', /since must be seconds since the epoch .* got "soon"/],
      [`${base}?devices=motor_01&point=speed`, 400, 'invalid_request', /unknown query parameter "point" \(the batch form reads the newest window/],
      [`${base}?devices=motor_01&from=-1h`, 400, 'invalid_request', /unknown query parameter "from"/],
      [`${base}?devices=${Array.from({ length: 501 }, (_, i) => `d${i}`).join(',')}`, 400, 'invalid_request', /names 501 devices; at most 500 per request/],
    ];
    for (const [url, status, code, message] of cases) {
      const r = await getJson(url);
      expect({ url: url.slice(0, 120), status: r.status, code: r.json.error_code }).toEqual({ url: url.slice(0, 120), status, code });
      expect(r.json.message).toMatch(message);
    }
    const missing = await getJson(`${base}?devices=motor_99`);
    expect(missing.json.device_id).toBe('motor_99');
  });

  test('needs a token when auth is on, like every read', async () => {
    const viewer = newToken();
    const gw = await start({ auth: { tokens: [{ name: 'panel', role: 'viewer', hash: hashToken(viewer) }] } } as never);
    const url = `${gw.url}/api/v1/history?devices=motor_01`;
    expect((await getJson(url)).status).toBe(401);
    expect((await getJson(url, { Authorization: `Bearer ${viewer}` })).status).toBe(200);
  });
});

describe('area and line of a device', () => {
  const running: RunningGateway[] = [];
  afterEach(async () => {
    for (const g of running.splice(0)) await g.stop();
  });

  test('appear in the REST device view and the WebSocket welcome when configured, and not otherwise', async () => {
    const gw = await startGateway({ log: { level: 'warn' }, devices: PLACED });
    running.push(gw);
    const one = await getJson(`${gw.url}/api/v1/devices/motor_01`);
    expect(one.json.area).toBe('hall-2');
    expect(one.json.line).toBe('line-3');
    const list = (await getJson(`${gw.url}/api/v1/devices`)).json.devices as { device_id: string; area?: string; line?: string }[];
    const placed = Object.fromEntries(list.map((d) => [d.device_id, [d.area, d.line]]));
    expect(placed).toEqual({ motor_01: ['hall-2', 'line-3'], motor_02: ['hall-2', undefined], sensor_01: [undefined, undefined] });
    expect(list.find((d) => d.device_id === 'sensor_01')).not.toHaveProperty('area');

    const ws = await TestClient.connect(gw.wsUrl);
    try {
      const welcome = await ws.next((m) => m.type === 'connection_established', 20_000);
      const seen = Object.fromEntries((welcome.devices as { device_id: string; area?: string; line?: string }[]).map((d) => [d.device_id, [d.area, d.line]]));
      expect(seen).toEqual(placed);
    } finally {
      ws.close();
    }
  });

  test('the config refuses an area or line that cannot go in a URL, saying where', () => {
    expect(() => validateConfig({ devices: [{ id: 'm', driver: 'simulator', model: 'motor', area: 'hall 2' }] })).toThrow(/devices\[0\]\.area: must be 1-64 letters, digits/);
    expect(() => validateConfig({ devices: [{ id: 'm', driver: 'simulator', model: 'motor', line: '' }] })).toThrow(/devices\[0\]\.line: must be 1-64 letters/);
  });

  test('the 100-device example loads: four areas, six lines', () => {
    const cfg = loadConfigFile('config/examples/simulator-100.yaml');
    expect(cfg.devices).toHaveLength(100);
    const areas = new Set(cfg.devices.map((d) => d.area));
    expect([...areas].sort()).toEqual(['hall-1', 'hall-2', 'packaging', 'utilities']);
    expect(new Set(cfg.devices.map((d) => d.line).filter((l) => l !== undefined)).size).toBe(6);
  });
});
