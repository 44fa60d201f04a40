import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, postJson, startGateway, type RunningGateway } from '../helpers/gateway.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ server: { max_body_bytes: 256 } });
});
afterAll(() => gw.stop());

describe('REST reads', () => {
  it('lists every device with state, online, seq and point metadata', async () => {
    const { status, json } = await getJson(`${gw.url}/api/v1/devices`);
    expect(status).toBe(200);
    expect(json.count).toBe(4);
    const motor = json.devices.find((d: { device_id: string }) => d.device_id === 'motor_01');
    expect(motor).toMatchObject({ device_type: 'motor', online: true, points: { speed: { access: 'rw', unit: 'rpm', min: 0, max: 3000 } } });
    expect(motor.seq).toBeGreaterThanOrEqual(1);
    expect(motor.state).toHaveProperty('actual_speed');
  });

  it('reads one device', async () => {
    const { status, json } = await getJson(`${gw.url}/api/v1/devices/sensor_02`);
    expect(status).toBe(200);
    expect(json).toMatchObject({ device_id: 'sensor_02', device_type: 'sensor' });
  });

  it('answers 404 device_not_found for an unknown device', async () => {
    const { status, json } = await getJson(`${gw.url}/api/v1/devices/motor_99`);
    expect(status).toBe(404);
    expect(json).toEqual({ error_code: 'device_not_found', message: 'Device motor_99 not found' });
  });

  it('answers JSON 404 for unknown paths and 405 for a wrong method', async () => {
    expect(await getJson(`${gw.url}/api/v2/whatever`)).toMatchObject({ status: 404, json: { error_code: 'not_found' } });
    const del = await fetch(`${gw.url}/api/v1/devices/motor_01`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(await del.json()).toMatchObject({ error_code: 'method_not_allowed' });
  });

  it('reports liveness and readiness', async () => {
    expect(await getJson(`${gw.url}/healthz`)).toMatchObject({ status: 200, json: { status: 'ok' } });
    expect(await getJson(`${gw.url}/readyz`)).toMatchObject({ status: 200, json: { status: 'ready', devices: 4 } });
  });
});

describe('REST control', () => {
  it('writes a setpoint and answers with the confirmed change', async () => {
    const { status, json } = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1234 });
    expect(status).toBe(200);
    expect(json).toMatchObject({ device_id: 'motor_01', device_type: 'motor', new_state: { speed: 1234 }, changed: true, action: 'device_control' });
    expect((await getJson(`${gw.url}/api/v1/devices/motor_01`)).json.state.speed).toBe(1234);
  });

  it.each([
    ['{"speed": ', 400, 'invalid_json'],
    ['', 400, 'invalid_json'],
    ['[1]', 400, 'invalid_request'],
    ['{}', 400, 'invalid_request'],
    ['{"warp": 9}', 422, 'validation_error'],
    ['{"current": 3}', 422, 'validation_error'],
    ['{"speed": "fast"}', 422, 'validation_error'],
    ['{"speed": 5000}', 422, 'validation_error'],
    ['{"running": "yes"}', 422, 'validation_error'],
  ])('%s -> %i %s, and the device is unchanged', async (body, status, code) => {
    const before = (await getJson(`${gw.url}/api/v1/devices/motor_02`)).json.state;
    const res = await postJson(`${gw.url}/api/v1/devices/motor_02`, body);
    expect(res.status).toBe(status);
    expect(res.json.error_code).toBe(code);
    expect(res.json.message).toEqual(expect.any(String));
    const after = (await getJson(`${gw.url}/api/v1/devices/motor_02`)).json.state;
    expect(after.speed).toBe(before.speed);
    expect(after.running).toBe(before.running);
  });

  it('names the point and the rule in a validation error', async () => {
    const res = await postJson(`${gw.url}/api/v1/devices/motor_02`, { speed: 5000 });
    expect(res.json).toMatchObject({ error_code: 'validation_error', message: 'motor_02.speed: 5000 is above the maximum 3000 rpm', point: 'speed', rule: 'max' });
  });

  it('answers 404 for a write to an unknown device', async () => {
    expect(await postJson(`${gw.url}/api/v1/devices/motor_99`, { speed: 1 })).toMatchObject({ status: 404, json: { error_code: 'device_not_found' } });
  });

  it('answers 413 for a body over server.max_body_bytes and keeps serving', async () => {
    const res = await postJson(`${gw.url}/api/v1/devices/motor_01`, { speed: 1, pad: 'x'.repeat(1000) });
    expect(res.status).toBe(413);
    expect(res.json.error_code).toBe('payload_too_large');
    expect((await getJson(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const stream = new ReadableStream({
      start(ctrl) {
        for (let i = 0; i < 10; i++) ctrl.enqueue(new TextEncoder().encode('x'.repeat(100)));
        ctrl.close();
      },
    });
    const res = await fetch(`${gw.url}/api/v1/devices/motor_01`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});
