/**
 * The CLI against a running gateway (real uWS server on port 0 in this process), and the exit
 * statuses a script can rely on.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken, newToken } from '../../src/server/auth.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { closedPort, mgw, until } from './helpers.js';

describe('mgw with the daemon', () => {
  let gw: RunningGateway;
  const cli = (...args: string[]) => mgw(['--url', gw.url, ...args]);

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('devices --json lists every device with online state and data age', async () => {
    await until(() => gw.gateway.registry.list().every((d) => d.last_update !== null), 'first polls');
    const r = await cli('devices', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const devices = JSON.parse(r.stdout) as { device_id: string; online: boolean; last_update: number }[];
    expect(devices.map((d) => d.device_id).sort()).toEqual(['motor_01', 'motor_02', 'sensor_01', 'sensor_02']);
    for (const d of devices) {
      expect(d.online).toBe(true);
      expect(Date.now() / 1000 - d.last_update).toBeLessThan(30);
    }
  });

  it('devices shows a table with the time since each device last changed, without colour when piped', async () => {
    const r = await cli('devices');
    expect(r.code).toBe(0);
    const [head, ...rows] = r.stdout.trim().split('\n');
    expect(head).toMatch(/^DEVICE\s+TYPE\s+ONLINE\s+LAST CHANGE\s+VALUES$/);
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatch(/^(motor|sensor)_0\d\s+\w+\s+online\s+\d+(\.\d)?\s(ms|s) ago\s+\S/);
    expect(r.stdout).not.toMatch(/\x1b\[/);
  });

  it('ages are measured on the gateway clock when the local clock is hours off', async () => {
    // The CLI process believes it is three hours later than the gateway does.
    const skewed = { NODE_OPTIONS: '--import=data:text/javascript,const%20n=Date.now;Date.now=()=>n()+3*3600e3;' };
    const r = await mgw(['--url', gw.url, 'devices'], skewed);
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split('\n').slice(1);
    expect(rows).toHaveLength(4);
    for (const row of rows) expect(row).toMatch(/\sonline\s+\d+(\.\d)?\s(ms|s) ago\s/);
    const one = await mgw(['--url', gw.url, 'get', 'sensor_01'], skewed);
    expect(one.stdout.split('\n')[0]).toMatch(/ changed \d+(\.\d)?\s(ms|s) ago /);
  });

  it('set writes a point, waits for the device and prints old -> new', async () => {
    const r = await cli('set', 'motor_01', 'speed=1750');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^motor_01\.speed: \d+ -> 1750\n$/);
    expect(gw.gateway.registry.snapshot('motor_01')?.state['speed']).toBe(1750);

    const j = await cli('--json', 'set', 'motor_01', 'speed=1800', 'running=true');
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({ new_state: { speed: 1800 } });
  });

  it.each([
    { why: 'value above the point maximum', args: ['set', 'motor_01', 'speed=99999'], code: 65, says: 'validation_error' },
    { why: 'read-only point', args: ['set', 'motor_01', 'actual_speed=5'], code: 65, says: 'validation_error' },
    { why: 'unknown device', args: ['get', 'pump_99'], code: 65, says: 'device_not_found' },
    { why: 'not point=value', args: ['set', 'motor_01', 'speed'], code: 64, says: 'expected point=value, got "speed"' },
    { why: 'unknown command', args: ['frobnicate'], code: 64, says: "unknown command 'frobnicate'" },
  ])('$why: exit $code', async ({ args, code, says }) => {
    const r = await cli(...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(says);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('an unreachable gateway is exit 69 and says what to check', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await mgw(['--url', url, 'devices']);
    expect(r.code).toBe(69);
    expect(r.stderr).toBe(`mgw: cannot reach the gateway at ${url}: connection refused (is \`mgw serve\` running? see --url)\n`);
  });

  it('--help documents the exit statuses', async () => {
    const r = await mgw(['--help']);
    expect(r.code).toBe(0);
    for (const code of ['64', '65', '69', '70', '75', '76', '77', '78']) expect(r.stdout).toMatch(new RegExp(`^  ${code}  \\S`, 'm'));
  });
});

describe('mgw against a gateway with API tokens', () => {
  let gw: RunningGateway;
  const viewer = newToken();
  const operator = newToken();

  beforeAll(async () => {
    gw = await startGateway({
      auth: {
        tokens: [
          { name: 'panel', role: 'viewer', hash: hashToken(viewer) },
          { name: 'tech', role: 'operator', hash: hashToken(operator) },
        ],
      },
    } as never);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('no token is exit 77; --token and MGW_TOKEN both work', async () => {
    const none = await mgw(['--url', gw.url, 'devices']);
    expect(none.code).toBe(77);
    expect(none.stderr).toMatch(/^mgw: unauthorized: /);
    expect((await mgw(['--url', gw.url, '--token', viewer, 'devices', '--json'])).code).toBe(0);
    expect((await mgw(['--url', gw.url, 'get', 'motor_02'], { MGW_TOKEN: viewer })).code).toBe(0);
  });

  it('a role too low to write is exit 77; an operator may set', async () => {
    const denied = await mgw(['--url', gw.url, '--token', viewer, 'set', 'motor_02', 'speed=1000']);
    expect(denied.code).toBe(77);
    expect(denied.stderr).toMatch(/^mgw: forbidden: /);
    const ok = await mgw(['--url', gw.url, '--token', operator, 'set', 'motor_02', 'speed=1000']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });
});

describe('mgw config check', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mgw-cli-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists every problem with its path and exits 78', async () => {
    const file = join(dir, 'broken.yaml');
    writeFileSync(
      file,
      ['server:', '  port: 99999', 'log:', '  level: loud', 'devices:', '  - id: motor_01', '    driver: simulator', '    model: rocket', '  - id: motor_02', '    driver: simulator', '    model: motor', '    poll_interval_ms: -5', ''].join('\n'),
    );
    const r = await mgw(['config', 'check', file]);
    expect(r.code).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}: 4 problems:`);
    for (const path of ['server.port:', 'log.level:', 'devices[0].model:', 'devices[1].poll_interval_ms:']) expect(r.stderr).toContain(`  ${path}`);
  });

  it('reports schema problems and cross-entry problems in the same run', async () => {
    const file = join(dir, 'both.yaml');
    writeFileSync(
      file,
      [
        'log:',
        '  level: loud', // schema
        'buses:',
        '  - { id: rs485, kind: rtu, port: /dev/ttyUSB0 }',
        '  - { id: broken, kind: rtu, port: /dev/ttyUSB1, baud: fast }', // schema
        'devices:',
        '  - { id: sim, driver: simulator, model: rocket }', // schema
        '  - id: vfd',
        '    driver: modbus',
        '    bus: rs485',
        '    unit: 1',
        '    points:',
        '      setpoint: { table: input, address: 0, access: rw }', // cross: writable input register
        '      total: { table: holding, address: 65535, type: float32 }', // cross: past 65535
        '  - { id: meter, driver: modbus, bus: rs458, unit: 2, profile: sdm120 }', // cross: unknown bus
        '  - { id: on_broken, driver: modbus, bus: broken, unit: 3, profile: sdm120 }', // its bus is broken: no "no bus" claim
        '  - { id: vfd, driver: simulator, model: motor }', // cross: duplicate id
        '',
      ].join('\n'),
    );
    const r = await mgw(['config', 'check', file]);
    expect(r.code).toBe(78);
    const problems = r.stderr.split('\n').filter((l) => l.startsWith('  ')).map((l) => l.trim());
    expect(r.stderr).toContain(`${file}: 7 problems:`);
    expect(problems).toEqual([
      expect.stringMatching(/^log\.level: must be one of/),
      expect.stringMatching(/^buses\[1\]\.baud: must be a number/),
      expect.stringMatching(/^devices\[0\]\.model: /),
      'devices[4].id: "vfd" is already used by devices[1]',
      expect.stringMatching(/^devices\[1\]\.points\.setpoint\.access: input registers are read-only/),
      'devices[1].points.total.address: a float32 at 65535 runs past the last address 65535',
      'devices[2].bus: no bus "rs458" under buses: (known: rs485)',
    ]);
  });

  it('with --json the problems come as data on stderr', async () => {
    const file = join(dir, 'broken2.yaml');
    writeFileSync(file, ['log:', '  level: loud', 'devices: []', ''].join('\n'));
    const r = await mgw(['--json', 'config', 'check', file]);
    expect(r.code).toBe(78);
    expect(JSON.parse(r.stderr)).toMatchObject({
      exit_code: 78,
      file,
      problems: [expect.stringMatching(/^log\.level: must be one of/), 'devices: must list at least one device'],
    });
  });

  it('a good file is ok, exit 0', async () => {
    const r = await mgw(['config', 'check', 'config/gateway.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^config\/gateway\.yaml: ok \(\d+ devices\)\n$/);
  });
});
