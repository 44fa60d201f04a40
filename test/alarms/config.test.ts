/**
 * Alarm config: every problem named by its path, built-in profile alarms valid, the example
 * plant's alarms valid.
 */
import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfigFile, validateConfig } from '../../src/config/load.js';
import { alarmDefinitionsOf } from '../../src/alarms/from-config.js';
import { PROFILES, PROFILE_NAMES } from '../../drivers/profiles/index.js';

function problems(devices: unknown[]): string[] {
  try {
    validateConfig({ devices });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

const motor = (alarms: unknown) => ({ id: 'motor_01', driver: 'simulator', model: 'motor', alarms });

describe('alarm config validation names the path of every problem', () => {
  test('an alarm on a point that does not exist', () => {
    expect(problems([motor({ points: { curent: { hi: 12 } } })])).toEqual([
      'devices[0].alarms.points.curent: motor_01 has no point "curent"; its points: speed, running, actual_speed, current, temperature',
    ]);
  });

  test('limits out of order and a deadband larger than the span, all reported at once', () => {
    const p = problems([motor({ points: { current: { lo: 8, hi: 6, deadband: 0.5 } } }), motor({ points: { temperature: { lo: 40, hi: 50, deadband: 12 } } })]);
    expect(p).toContain('devices[0].alarms.points.current.hi: limits out of order: hi (6) must be above lo (8); the order is lolo < lo < hi < hihi');
    expect(p).toContain('devices[1].alarms.points.temperature.deadband: 12 °C is not smaller than the span between the low and high limits (10 °C): the alarms could never clear');
    expect(p).toContain('devices[1].id: "motor_01" is already used by devices[0]');
  });

  test('a limit outside the point range, limits on a boolean, a discrete value of the wrong type', () => {
    expect(problems([motor({ points: { current: { hi: 25 }, running: { hi: 1, discrete: { when: 'yes' } } } })])).toEqual([
      "devices[0].alarms.points.current.hi: 25 A is above motor_01.current's maximum 20 A: the alarm could never be raised",
      'devices[0].alarms.points.running.hi: limits need a numeric point; motor_01.running is a boolean (use discrete or codes)',
      'devices[0].alarms.points.running.discrete.when: the point is a boolean: use true or false, not "yes"',
    ]);
  });

  test('schema problems: unknown setting, bad priority, negative delay', () => {
    expect(problems([motor({ offline: { priority: 'urgent' }, points: { current: { hi: { limit: 12, colour: 'red' }, on_delay_ms: -1 } } })])).toEqual(
      expect.arrayContaining([
        'devices[0].alarms.offline.priority: must be one of critical, high, medium, low',
        'devices[0].alarms.points.current.on_delay_ms: must be >= 0',
      ]),
    );
  });

  test('a good config gives one definition per limit, a quality alarm per alarmed point and the offline alarm', () => {
    const cfg = validateConfig({ devices: [motor({ points: { current: { hi: 12, hihi: { limit: 15, priority: 'critical', message: 'Trip risk' } } } })] });
    const ids = alarmDefinitionsOf(cfg).definitions.map((d) => `${d.id}:${d.priority}`);
    expect(ids).toEqual(['motor_01.offline:high', 'motor_01.current.hi:medium', 'motor_01.current.hihi:critical', 'motor_01.current.quality:low']);
  });
});

describe('built-in profiles and examples', () => {
  test.each(PROFILE_NAMES)('the alarms of profile %s are valid against its points', (name) => {
    const cfg = validateConfig({ buses: [{ id: 'b', kind: 'tcp', host: '127.0.0.1' }], devices: [{ id: 'd', driver: 'modbus', bus: 'b', unit: 1, profile: name }] });
    const { definitions, problems: p } = alarmDefinitionsOf(cfg);
    expect(p).toEqual([]);
    expect(definitions.length).toBe(1 + Object.values(PROFILES[name].alarms ?? {}).reduce((n, a) => n + Object.keys(a.codes ?? {}).length + ['hihi', 'hi', 'lo', 'lolo'].filter((k) => k in a).length + 1, 0));
  });

  test('a device entry replaces the profile alarms of a point, false removes them', () => {
    const cfg = validateConfig({
      buses: [{ id: 'b', kind: 'tcp', host: '127.0.0.1' }],
      devices: [{ id: 'd', driver: 'modbus', bus: 'b', unit: 1, profile: 'sdm120', alarms: { points: { voltage: { hi: 240 }, frequency: false } } }],
    });
    expect(alarmDefinitionsOf(cfg).definitions.map((d) => d.id)).toEqual(['d.offline', 'd.voltage.hi', 'd.voltage.quality']);
  });

  test('the simulator plant example has alarms and is valid', () => {
    const cfg = loadConfigFile('config/examples/simulator-plant.yaml');
    expect(alarmDefinitionsOf(cfg).definitions.filter((d) => d.kind !== 'offline' && d.kind !== 'quality').length).toBeGreaterThan(4);
  });
});
