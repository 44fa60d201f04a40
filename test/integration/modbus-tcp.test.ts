/**
 * The Modbus driver against a real Modbus TCP slave (pymodbus) on loopback.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { getJson, postJson, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';
import { startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';
import { loadTypeRegisters, TYPE_VALUES, typesDevice } from './modbus-fixtures.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function peer(...args: Parameters<typeof startPyModbus>): Promise<PyModbusPeer> {
  const p = await startPyModbus(...args);
  cleanups.push(() => p.stop());
  return p;
}

async function gateway(input: Parameters<typeof startGateway>[0]): Promise<RunningGateway> {
  const gw = await startGateway(input);
  cleanups.push(() => gw.stop());
  return gw;
}

function tcpBus(id: string, port: number, extra: Record<string, unknown> = {}) {
  return { id, kind: 'tcp' as const, host: '127.0.0.1', port, timeout_ms: 300, retries: 1, reconnect_max_ms: 500, ...extra };
}

function state(gw: RunningGateway, id: string) {
  return gw.gateway.registry.snapshot(id)!;
}

function driver(gw: RunningGateway, id: string): ModbusDriver {
  return gw.gateway.driverList().find((d) => d.id === `modbus:${id}`) as ModbusDriver;
}

describe.skipIf(!peers('/usr/bin/python3'))('Modbus TCP against pymodbus', () => {
  test('every point type and byte/word order is decoded', async () => {
    const slave = await peer('tcp', 0);
    await loadTypeRegisters(slave, 1);
    const gw = await gateway({ buses: [tcpBus('plc', slave.port)], devices: [typesDevice('types', 'plc', 1)] });
    const snap = await waitFor('all points read', () => {
      const s = state(gw, 'types');
      return s.online && Object.keys(s.state).length === Object.keys(TYPE_VALUES).length ? s : undefined;
    });
    expect(snap.state).toEqual(TYPE_VALUES);
    // Four tables, each merged into one request.
    expect(driver(gw, 'plc').health().counters!['device:types:transactions']).toBeGreaterThan(0);
  });

  test('a REST write lands in the peer registers, is confirmed by read-back and reaches WebSocket clients', async () => {
    const slave = await peer('tcp', 0);
    await loadTypeRegisters(slave, 1);
    const gw = await gateway({ buses: [tcpBus('plc', slave.port)], devices: [typesDevice('types', 'plc', 1, 1000)] });
    await waitFor('device online', () => state(gw, 'types').online);
    const client = await TestClient.connect(gw.wsUrl);
    cleanups.push(() => client.close());

    // setpoint (20-21) and speed (22) touch: one FC16; lamp and horn (coils 3-4): one FC15.
    const body = { setpoint: 42.25, speed: 1500, mode: 'automatic', flag2: true, lamp: false, horn: true };
    const res = await postJson(`${gw.url}/api/v1/devices/types`, body);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ device_id: 'types', action: 'device_control', changed: true, new_state: body });

    // What the slave holds now, read from the slave itself.
    expect(await slave.get(1, 'hr', 20, 2)).toEqual([0x4229, 0x0000]); // 42.25 as float32
    expect(await slave.get(1, 'hr', 22, 1)).toEqual([1500]);
    expect(await slave.get(1, 'hr', 18, 1)).toEqual([1]);
    expect(await slave.get(1, 'hr', 16, 1)).toEqual([0b1110]); // bit 2 set, bit 1 kept
    expect(await slave.get(1, 'co', 3, 2)).toEqual([false, true]);

    const update = await client.next((m) => m['type'] === 'device_update' && m['data']?.action === 'device_control');
    expect(update['device_id']).toBe('types');
    expect(update['data'].new_state).toEqual(body);
  });

  test('a value changed in the slave is polled and published; changes inside the deadband are not', async () => {
    const slave = await peer('tcp', 0);
    const gw = await gateway({
      buses: [tcpBus('plc', slave.port)],
      devices: [
        {
          id: 'tank',
          driver: 'modbus',
          bus: 'plc',
          unit: 1,
          poll_interval_ms: 20,
          points: { level: { table: 'holding', address: 0, type: 'uint16', scale: 0.1, deadband: 1 } },
        },
      ],
    });
    await waitFor('first reading', () => state(gw, 'tank').state['level'] === 0);
    const client = await TestClient.connect(gw.wsUrl);
    cleanups.push(() => client.close());
    await slave.set(1, 'hr', 0, [5]); // 0.5: inside the deadband of 1
    const pollsAfterSmall = driver(gw, 'plc').health().counters!['device:tank:polls']!;
    await waitFor('three more polls', () => driver(gw, 'plc').health().counters!['device:tank:polls']! >= pollsAfterSmall + 3);
    expect(state(gw, 'tank').state['level']).toBe(0);
    await slave.set(1, 'hr', 0, [123]);
    const update = await client.next((m) => m['type'] === 'device_update' && m['data']?.action === 'poll');
    expect(update['data'].new_state).toEqual({ level: 12.3 });
  });

  test('the read planner splits a read that answers exception 02 and a write to a missing register is a device_error', async () => {
    // Holding registers exist only at 0-9 and 30-39: a read across 10-29 answers exception 02.
    const slave = await peer('tcp', 0, { sparseHr: '0-9,30-39' });
    await slave.set(1, 'hr', 5, [55]);
    await slave.set(1, 'hr', 31, [3131]);
    const gw = await gateway({
      buses: [tcpBus('plc', slave.port, { max_gap: 30 })],
      devices: [
        {
          id: 'holes',
          driver: 'modbus',
          bus: 'plc',
          unit: 1,
          poll_interval_ms: 50,
          points: {
            a: { table: 'holding', address: 5 },
            ghost: { table: 'holding', address: 20, access: 'rw' },
            b: { table: 'holding', address: 31 },
          },
        },
      ],
    });
    const snap = await waitFor('a and b read after the planner learned', () => {
      const s = state(gw, 'holes');
      return s.state['a'] === 55 && s.state['b'] === 3131 ? s : undefined;
    });
    expect(snap.online).toBe(true);
    expect(gw.logs.some((l) => /splitting it/.test(l.msg))).toBe(true);
    expect(gw.logs.some((l) => /point no longer polled/.test(l.msg) && (l['points'] as string[]).includes('ghost'))).toBe(true);

    const res = await postJson(`${gw.url}/api/v1/devices/holes`, { ghost: 7 });
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error_code: 'device_error', exception_code: 2 });
    expect(res.json.message).toMatch(/exception 2, illegal data address/);
  });

  test('a killed peer takes its devices offline; restarted, they come back online without a gateway restart', async () => {
    const first = await startPyModbus('tcp', 0, { units: [1, 2] });
    const port = first.port;
    let second: PyModbusPeer | undefined;
    cleanups.push(async () => {
      await first.stop();
      await second?.stop();
    });
    const gw = await gateway({
      buses: [tcpBus('plc', port, { timeout_ms: 200, retries: 0 })],
      devices: [
        { id: 'u1', driver: 'modbus', bus: 'plc', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 0, access: 'rw' } } },
        { id: 'u2', driver: 'modbus', bus: 'plc', unit: 2, poll_interval_ms: 50, points: { v: { table: 'holding', address: 0 } } },
      ],
    });
    await waitFor('both online', () => state(gw, 'u1').online && state(gw, 'u2').online);
    const client = await TestClient.connect(gw.wsUrl);
    cleanups.push(() => client.close());

    await first.stop();
    await waitFor('both offline', () => !state(gw, 'u1').online && !state(gw, 'u2').online);
    await client.next((m) => m['type'] === 'device_update' && m['device_id'] === 'u1' && m['data']?.new_state?.online === false);
    const down = await postJson(`${gw.url}/api/v1/devices/u1`, { v: 1 });
    expect(down.status).toBe(503);
    expect(down.json.error_code).toBe('device_offline');
    const notReady = await waitFor('readyz names the dead link', async () => {
      const r = await getJson(`${gw.url}/readyz`);
      return r.status === 503 ? r.json : false;
    });
    expect(notReady).toMatchObject({ error_code: 'not_ready', links_down: ['modbus:plc'] });

    second = await startPyModbus('tcp', port, { units: [1, 2] });
    await second.set(1, 'hr', 0, [77]);
    await waitFor('both back online', () => state(gw, 'u1').online && state(gw, 'u2').online, 15_000);
    await waitFor('fresh value from the new peer', () => state(gw, 'u1').state['v'] === 77);
    await client.next((m) => m['type'] === 'device_update' && m['device_id'] === 'u1' && m['data']?.new_state?.online === true);
    expect(driver(gw, 'plc').health().counters!['reconnects']).toBeGreaterThanOrEqual(1);
    await waitFor('readyz ready again', async () => (await getJson(`${gw.url}/readyz`)).status === 200);
  });

  test('one unit that never answers does not take the poll rate of three healthy units on its bus', async () => {
    // Two identical buses in one gateway, measured over the same window: "clean" has three
    // units; "mixed" has the same three plus unit 4, which nobody answers.
    const clean = await peer('tcp', 0, { units: [1, 2, 3] });
    const mixed = await peer('tcp', 0, { units: [1, 2, 3] });
    const unit = (bus: string, u: number) => ({
      id: `${bus}_${u}`,
      driver: 'modbus' as const,
      bus,
      unit: u,
      poll_interval_ms: 100,
      points: { v: { table: 'holding' as const, address: 0 } },
    });
    const bus = { timeout_ms: 100, retries: 1, backoff_max_ms: 2000 };
    const gw = await gateway({
      buses: [tcpBus('clean', clean.port, bus), tcpBus('mixed', mixed.port, bus)],
      devices: [1, 2, 3].map((u) => unit('clean', u)).concat([1, 2, 3, 4].map((u) => unit('mixed', u))),
    });
    await waitFor('healthy units online', () => [1, 2, 3].every((u) => state(gw, `clean_${u}`).online && state(gw, `mixed_${u}`).online));
    const polls = () => {
      const c = driver(gw, 'clean').health().counters!;
      const m = driver(gw, 'mixed').health().counters!;
      return [1, 2, 3].map((u) => [c[`device:clean_${u}:polls`]!, m[`device:mixed_${u}:polls`]!] as const);
    };
    const deadTries = () => driver(gw, 'mixed').health().counters!['device:mixed_4:transactions']!;
    const before = polls();
    const triesBefore = deadTries();
    // The window ends when the dead unit has been probed six more times (an offline unit gets
    // one attempt per rest), so the window is sure to contain its cost.
    await waitFor('the dead unit to be probed six more times', () => deadTries() >= triesBefore + 6, 20_000);
    const after = polls();
    expect(state(gw, 'mixed_4').online).toBe(false);
    for (let i = 0; i < 3; i++) {
      const cleanRate = after[i]![0] - before[i]![0];
      const mixedRate = after[i]![1] - before[i]![1];
      expect(cleanRate).toBeGreaterThan(10);
      expect(mixedRate / cleanRate).toBeGreaterThanOrEqual(0.8);
    }
  });
});
