/**
 * `mgw modbus info`: FC43/14 device identification from pymodbus (its ModbusDeviceIdentification),
 * over Modbus TCP and over RTU on a PTY pair (where the reply's length is walked object by object).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { mgw } from './helpers.js';
import { startPtyPair, startPyModbus } from '../peers/modbus.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const IDENTITY: [string, string, string] = ['Acme Drives', 'VX-200', '2.14'];

describe.skipIf(!peers('socat', '/usr/bin/python3'))('mgw modbus info', () => {
  it('TCP: vendor, product code and revision, as a table and as JSON', async () => {
    const slave = await startPyModbus('tcp', 0, { identity: IDENTITY });
    cleanups.push(() => slave.stop());
    const host = `127.0.0.1:${slave.port}`;
    const r = await mgw(['modbus', 'info', '--host', host, '--unit', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/vendor\s+Acme Drives/);
    expect(r.stdout).toMatch(/product code\s+VX-200/);
    expect(r.stdout).toMatch(/revision\s+2\.14/);
    const j = await mgw(['--json', 'modbus', 'info', '--host', host, '--unit', '1']);
    expect(JSON.parse(j.stdout)).toMatchObject({ unit: 1, vendor: 'Acme Drives', product_code: 'VX-200', revision: '2.14' });
  });

  it('RTU: the same through the RTU framing', async () => {
    const pty = await startPtyPair();
    cleanups.push(() => pty.stop());
    const slave = await startPyModbus('rtu', pty.device, { units: [4], identity: IDENTITY });
    cleanups.push(() => slave.stop());
    const j = await mgw(['--json', 'modbus', 'info', '--port', pty.gateway, '--unit', '4']);
    expect(j.stderr).toBe('');
    expect(JSON.parse(j.stdout)).toMatchObject({ unit: 4, vendor: 'Acme Drives', product_code: 'VX-200', revision: '2.14' });
  });

  it('a unit without FC43 answers exception 01: exit 76 with its meaning', async () => {
    const slave = await startPyModbus('tcp', 0, { refuseFc: [43] });
    cleanups.push(() => slave.stop());
    const r = await mgw(['modbus', 'info', '--host', `127.0.0.1:${slave.port}`, '--unit', '1']);
    expect(r.code).toBe(76);
    expect(r.stderr).toContain('exception 1 (illegal function');
  });
});
