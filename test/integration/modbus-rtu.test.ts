/**
 * The Modbus driver over RTU against a real slave (pymodbus, RTU framer) through a socat PTY
 * pair, including frames that socat cuts into 7-byte pieces.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { peers } from '../helpers/peers.js';
import { postJson, startGateway, TestClient, type RunningGateway } from '../helpers/gateway.js';
import { startPtyPair, startPyModbus, waitFor, type PyModbusPeer } from '../peers/modbus.js';
import { loadTypeRegisters, TYPE_VALUES, typesDevice } from './modbus-fixtures.js';
import type { ModbusDriver } from '../../drivers/modbus/driver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A PTY pair with the pymodbus RTU slave on one end; the gateway gets the other. */
async function rtuLine(blockSize?: number, units = [1]): Promise<{ path: string; device: string; slave: PyModbusPeer }> {
  const pty = await startPtyPair(blockSize);
  cleanups.push(() => pty.stop());
  const slave = await startPyModbus('rtu', pty.device, { units });
  cleanups.push(() => slave.stop());
  return { path: pty.gateway, device: pty.device, slave };
}

async function gateway(input: Parameters<typeof startGateway>[0]): Promise<RunningGateway> {
  const gw = await startGateway(input);
  cleanups.push(() => gw.stop());
  return gw;
}

const rtuBus = (port: string) => ({ id: 'line1', kind: 'rtu' as const, port, baud: 19200, timeout_ms: 500, retries: 1 });

describe.skipIf(!peers('socat', '/usr/bin/python3'))('Modbus RTU through a PTY pair against pymodbus', () => {
  test('every point type and byte/word order is decoded', async () => {
    const { path, slave } = await rtuLine();
    await loadTypeRegisters(slave, 1);
    const gw = await gateway({ buses: [rtuBus(path)], devices: [typesDevice('types', 'line1', 1)] });
    const snap = await waitFor('all points read', () => {
      const s = gw.gateway.registry.snapshot('types')!;
      return s.online && Object.keys(s.state).length === Object.keys(TYPE_VALUES).length ? s : undefined;
    });
    expect(snap.state).toEqual(TYPE_VALUES);
  });

  test('frames cut into 7-byte pieces (socat -b 7) decode correctly, in both directions', async () => {
    const { path, slave } = await rtuLine(7);
    await loadTypeRegisters(slave, 1);
    const gw = await gateway({ buses: [rtuBus(path)], devices: [typesDevice('types', 'line1', 1)] });
    const snap = await waitFor('all points read', () => {
      const s = gw.gateway.registry.snapshot('types')!;
      return s.online && Object.keys(s.state).length === Object.keys(TYPE_VALUES).length ? s : undefined;
    });
    expect(snap.state).toEqual(TYPE_VALUES);
    // A write travels fragmented too, and so does its read-back.
    const res = await postJson(`${gw.url}/api/v1/devices/types`, { setpoint: 99.5 });
    expect(res.status).toBe(200);
    expect(res.json.new_state).toEqual({ setpoint: 99.5 });
    expect(await slave.get(1, 'hr', 20, 2)).toEqual([0x42c7, 0x0000]);
    const counters = (gw.gateway.driverList().find((d) => d.id === 'modbus:line1') as ModbusDriver).health().counters!;
    expect(counters['timeouts']).toBe(0);
  });

  test('a REST write lands in the slave registers and reaches WebSocket clients', async () => {
    const { path, slave } = await rtuLine(undefined, [1, 2]);
    await slave.set(2, 'ir', 1, [215, 480]);
    const gw = await gateway({
      buses: [rtuBus(path)],
      devices: [
        { id: 'drive', driver: 'modbus', bus: 'line1', unit: 1, profile: 'vfd', poll_interval_ms: 100 },
        { id: 'climate', driver: 'modbus', bus: 'line1', unit: 2, profile: 'xy-md02', poll_interval_ms: 100 },
      ],
    });
    await waitFor('both units online', () => gw.gateway.registry.snapshot('drive')!.online && gw.gateway.registry.snapshot('climate')!.online);
    await waitFor('sensor values', () => gw.gateway.registry.snapshot('climate')!.state['temperature'] === 21.5);
    expect(gw.gateway.registry.snapshot('climate')!.state['humidity']).toBe(48);
    const client = await TestClient.connect(gw.wsUrl);
    cleanups.push(() => client.close());
    const res = await postJson(`${gw.url}/api/v1/devices/drive`, { speed: 1450, running: true });
    expect(res.status).toBe(200);
    expect(res.json.new_state).toEqual({ speed: 1450, running: true });
    expect(await slave.get(1, 'hr', 0, 1)).toEqual([1450]);
    expect(await slave.get(1, 'co', 0, 1)).toEqual([true]);
    const update = await client.next((m) => m['type'] === 'device_update' && m['device_id'] === 'drive' && m['data']?.action === 'device_control');
    expect(update['data'].new_state).toEqual({ speed: 1450, running: true });
  });

  test('one unit that never answers does not take the poll rate of three healthy units on its line', async () => {
    // Two identical lines in one gateway, measured over the same window: "clean" has three
    // units; "mixed" has the same three plus unit 4, which nobody answers. On RTU a silent unit
    // costs the whole line its timeout plus the quiet time, per attempt.
    const clean = await rtuLine(undefined, [1, 2, 3]);
    const mixed = await rtuLine(undefined, [1, 2, 3]);
    const unit = (bus: string, u: number) => ({
      id: `${bus}_${u}`,
      driver: 'modbus' as const,
      bus,
      unit: u,
      poll_interval_ms: 100,
      points: { v: { table: 'holding' as const, address: 0 } },
    });
    const line = (id: string, port: string) => ({ ...rtuBus(port), id, timeout_ms: 100, retries: 1, quiet_ms: 30, backoff_max_ms: 2000 });
    const gw = await gateway({
      buses: [line('clean', clean.path), line('mixed', mixed.path)],
      devices: [1, 2, 3].map((u) => unit('clean', u)).concat([1, 2, 3, 4].map((u) => unit('mixed', u))),
    });
    const snap = (id: string) => gw.gateway.registry.snapshot(id)!;
    await waitFor('healthy units online', () => [1, 2, 3].every((u) => snap(`clean_${u}`).online && snap(`mixed_${u}`).online));
    const drv = (id: string) => gw.gateway.driverList().find((d) => d.id === `modbus:${id}`) as ModbusDriver;
    const polls = () => [1, 2, 3].map((u) => [drv('clean').health().counters![`device:clean_${u}:polls`]!, drv('mixed').health().counters![`device:mixed_${u}:polls`]!] as const);
    const deadTries = () => drv('mixed').health().counters!['device:mixed_4:transactions']!;
    const before = polls();
    const triesBefore = deadTries();
    await waitFor('the dead unit to be probed six more times', () => deadTries() >= triesBefore + 6, 20_000);
    const after = polls();
    expect(snap('mixed_4').online).toBe(false);
    for (let i = 0; i < 3; i++) {
      const cleanPolls = after[i]![0] - before[i]![0];
      const mixedPolls = after[i]![1] - before[i]![1];
      expect(cleanPolls).toBeGreaterThan(10);
      expect(mixedPolls / cleanPolls).toBeGreaterThanOrEqual(0.8);
    }
  });

  test('a serial port that disappears is reopened when it comes back, without a gateway restart', async () => {
    const pty = await startPtyPair();
    let pty2: Awaited<ReturnType<typeof startPtyPair>> | undefined;
    cleanups.push(async () => {
      await pty.stop();
      await pty2?.stop();
    });
    const slave = await startPyModbus('rtu', pty.device, { units: [1] });
    cleanups.push(() => slave.stop());
    await slave.set(1, 'hr', 0, [1]);
    const gw = await gateway({
      buses: [{ ...rtuBus(pty.gateway), timeout_ms: 100, reconnect_max_ms: 300 }],
      devices: [{ id: 'u', driver: 'modbus', bus: 'line1', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 0 } } }],
    });
    await waitFor('online with the first value', () => gw.gateway.registry.snapshot('u')!.state['v'] === 1);
    // The adapter is pulled: socat ends, both PTY ends vanish.
    await slave.stop();
    await pty.stop();
    await waitFor('offline', () => !gw.gateway.registry.snapshot('u')!.online);
    await waitFor('a warning that names the port', () => gw.logs.some((l) => l.msg === 'bus lost; reconnecting' || l.msg === 'bus cannot connect'));
    // Plugged back in under the same name, with the device answering again.
    pty2 = await startPtyPair(undefined, { gateway: pty.gateway, device: pty.device });
    const again = await startPyModbus('rtu', pty2.device, { units: [1] });
    cleanups.push(() => again.stop());
    await again.set(1, 'hr', 0, [2]);
    await waitFor('online again with the new value', () => {
      const s = gw.gateway.registry.snapshot('u')!;
      return s.online && s.state['v'] === 2;
    }, 15_000);
    const counters = (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;
    expect(counters['reconnects']).toBeGreaterThanOrEqual(1);
  });

  test('a gateway started before its serial adapter is plugged in opens it when it appears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mgw-late-'));
    const links = { gateway: join(dir, 'gw'), device: join(dir, 'dev') };
    const gw = await gateway({
      buses: [{ ...rtuBus(links.gateway), reconnect_max_ms: 200 }],
      devices: [{ id: 'u', driver: 'modbus', bus: 'line1', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 0 } } }],
    });
    expect(gw.gateway.isReady).toBe(true);
    expect(gw.gateway.registry.snapshot('u')!.online).toBe(false);
    await waitFor('a warning that names the missing port', () =>
      gw.logs.find((l) => l.msg === 'bus cannot connect' && String(l['err']).includes(`${links.gateway}: no such device`)),
    );
    const pty = await startPtyPair(undefined, links);
    cleanups.push(() => pty.stop());
    const slave = await startPyModbus('rtu', pty.device, { units: [1] });
    cleanups.push(() => slave.stop());
    await slave.set(1, 'hr', 0, [42]);
    await waitFor('online with the value', () => gw.gateway.registry.snapshot('u')!.state['v'] === 42, 15_000);
  });

  test('a unit that stops answering goes offline after its retries and comes back by itself', async () => {
    const { path, device, slave } = await rtuLine(undefined, [1]);
    const gw = await gateway({
      buses: [{ ...rtuBus(path), timeout_ms: 100, retries: 1, backoff_max_ms: 400 }],
      devices: [
        { id: 'here', driver: 'modbus', bus: 'line1', unit: 1, poll_interval_ms: 50, points: { v: { table: 'holding', address: 0 } } },
      ],
    });
    await waitFor('online', () => gw.gateway.registry.snapshot('here')!.online);
    // Kill the slave but keep the line: the unit falls silent.
    await slave.stop();
    await waitFor('offline', () => !gw.gateway.registry.snapshot('here')!.online);
    const counters = (gw.gateway.driverList()[0] as ModbusDriver).health().counters!;
    expect(counters['device:here:timeouts']).toBeGreaterThanOrEqual(2);
    // A new slave on the same line: the unit answers again.
    const again = await startPyModbus('rtu', device, { units: [1] });
    cleanups.push(() => again.stop());
    await again.set(1, 'hr', 0, [9]);
    await waitFor('back online with the new value', () => {
      const s = gw.gateway.registry.snapshot('here')!;
      return s.online && s.state['v'] === 9;
    });
  });
});
