import { afterEach, describe, expect, test } from 'vitest';
import { getJson, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { hashToken, newToken } from '../../src/server/auth.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';

const running: RunningGateway[] = [];
afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

async function start(input: Partial<GatewayConfigInput> = {}): Promise<RunningGateway> {
  const gw = await startGateway({ history: { store: { flush_s: 1, fsync: false, max_rows: 5000, max_raw_span_h: 2 } }, ...input } as never);
  running.push(gw);
  return gw;
}

/** Waits until the store wrote a batch with something in it. */
async function written(gw: RunningGateway): Promise<void> {
  const store = gw.gateway.historian!.store;
  const target = store.counters.batches_written + 1;
  while (store.counters.batches_written < target || store.counters.samples_written === 0) await new Promise((r) => setImmediate(r));
}

async function getText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; text: string }> {
  const r = await fetch(url, { headers });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

describe('GET /api/v1/devices/{id}/history from the store', () => {
  test('raw samples with from/to, points and quality; booleans as 0/1', async () => {
    const gw = await start();
    await written(gw);
    const r = await getJson(`${gw.url}/api/v1/devices/motor_01/history?from=-60&to=now&resolution=raw&points=current,running`);
    expect(r.status).toBe(200);
    expect(r.json.source).toBe('store');
    expect(r.json.resolution).toBe('raw');
    expect(r.json.bucket_s).toBeNull();
    const current = r.json.points.current;
    expect(current.unit).toBe('A');
    expect(current.t.length).toBeGreaterThan(5);
    expect(current.t).toEqual([...current.t].sort((a: number, b: number) => a - b));
    expect(r.json.points.running.v.every((x: number) => x === 0 || x === 1)).toBe(true);
    // The newest window of the same API still answers as before.
    const mem = await getJson(`${gw.url}/api/v1/devices/motor_01/history?point=current`);
    expect(mem.json.window_s).toBe(300);
    expect(mem.json.points.current.t.length).toBeGreaterThan(0);
  });

  test('max_points buckets with min, max, mean and count', async () => {
    const gw = await start();
    await written(gw);
    const r = await getJson(`${gw.url}/api/v1/devices/motor_01/history?from=-1h&max_points=3&points=current`);
    expect(r.status).toBe(200);
    const c = r.json.points.current;
    expect(r.json.bucket_s).toBe(1200);
    expect(c.t.length).toBeGreaterThanOrEqual(1);
    expect(c.t.length).toBeLessThanOrEqual(3);
    const raw = await getJson(`${gw.url}/api/v1/devices/motor_01/history?from=${c.t.at(-1)}&to=${Date.now() / 1000 + 1}&resolution=raw&points=current`);
    const vs: number[] = raw.json.points.current.v;
    // The last bucket is still growing: it holds at most what a later raw read returns.
    expect(c.n.at(-1)).toBeLessThanOrEqual(vs.length);
    expect(c.min.at(-1)).toBeGreaterThanOrEqual(Math.min(...vs));
    expect(c.max.at(-1)).toBeLessThanOrEqual(Math.max(...vs));
    expect(c.v.at(-1)).toBeGreaterThanOrEqual(c.min.at(-1));
    expect(c.v.at(-1)).toBeLessThanOrEqual(c.max.at(-1));
  });

  test('CSV with format=csv or Accept: text/csv, for the store and the newest window', async () => {
    const gw = await start();
    await written(gw);
    const a = await getText(`${gw.url}/api/v1/devices/sensor_01/history?from=-60&resolution=raw&format=csv`);
    expect(a.status).toBe(200);
    expect(a.type).toMatch(/^text\/csv/);
    const lines = a.text.trim().split('\n');
    expect(lines[0]).toBe('time,epoch_s,device,point,unit,value,min,max,count,quality');
    expect(lines[1]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z,[\d.]+,sensor_01,(temperature|humidity),(°C|%RH),[-\d.]+,,,,good$/);
    const b = await getText(`${gw.url}/api/v1/devices/sensor_01/history?point=humidity`, { Accept: 'text/csv' });
    expect(b.type).toMatch(/^text\/csv/);
    expect(b.text.split('\n')[1]).toContain(',sensor_01,humidity,%RH,');
  });

  test('limits and bad parameters get coded errors that say what was wrong', async () => {
    const gw = await startGateway({ history: { store: { flush_s: 1, fsync: false, max_rows: 100, max_raw_span_h: 2 } } } as never);
    running.push(gw);
    while (gw.gateway.historian!.store.counters.samples_written < 1000) await written(gw);
    const base = `${gw.url}/api/v1/devices/motor_01/history`;
    const cases: [string, number, string, RegExp][] = [
      [`${base}?from=-3h&resolution=raw`, 422, 'history_limit', /raw samples may span at most 2 h per request/],
      [`${base}?from=-1h&resolution=raw&points=current,temperature`, 422, 'history_limit', /more than 100 rows \(history.store.max_rows\)/],
      [`${base}?from=yesterday`, 400, 'invalid_request', /from must be seconds since the epoch .* got "yesterday"/],
      [`${base}?from=-1h&to=-2h`, 400, 'invalid_request', /to .* must be after from/],
      [`${base}?from=-1h&resolution=5m`, 400, 'invalid_request', /resolution must be raw, 1m, 1h or auto/],
      [`${base}?from=-1h&max_points=0`, 400, 'invalid_request', /max_points must be a whole number from 1/],
      [`${base}?from=-1h&points=torque`, 422, 'validation_error', /motor_01\.torque: unknown point; points with history: speed, running, actual_speed, current, temperature/],
      [`${base}?from=-1h&format=xml`, 400, 'invalid_request', /format must be json or csv/],
    ];
    for (const [url, status, code, message] of cases) {
      const r = await getJson(url);
      expect({ url, status: r.status, code: r.json.error_code }).toEqual({ url, status, code });
      expect(r.json.message).toMatch(message);
    }
  });

  test('the viewer role may read it', async () => {
    const viewer = newToken();
    const gw = await start({ auth: { tokens: [{ name: 'panel', role: 'viewer', hash: hashToken(viewer) }] } } as never);
    const url = `${gw.url}/api/v1/devices/motor_01/history?from=-1h`;
    expect((await getJson(url)).status).toBe(401);
    expect((await getJson(url, { Authorization: `Bearer ${viewer}` })).status).toBe(200);
  });
});

test('/metrics has the flash budget, the store size and reach per tier and the batch latency', async () => {
  const gw = await start();
  await written(gw);
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  const c = gw.gateway.historian!.store.counters;
  expect(value('mgw_history_samples_written_total')).toBeGreaterThanOrEqual(c.samples_written - 1000);
  expect(value('mgw_history_samples_written_total')).toBeGreaterThan(0);
  expect(value('mgw_history_bytes_written_last_minute')).toBeGreaterThan(0);
  expect(value('mgw_history_store_bytes{tier="raw"}')).toBeGreaterThan(0);
  expect(value('mgw_history_oldest_sample_seconds{tier="raw"}')).toBeLessThanOrEqual(Date.now() / 1000);
  expect(value('mgw_history_oldest_sample_seconds{tier="raw"}')).toBeGreaterThan(Date.now() / 1000 - 60);
  expect(value('mgw_history_batches_total')).toBeGreaterThanOrEqual(1);
  expect(value('mgw_history_batch_max_seconds')).toBeGreaterThan(0);
  expect(value('mgw_history_up')).toBe(1);
});
