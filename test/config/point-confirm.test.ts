/** `confirm` on a point: the HMI asks before a write; a wrong value is refused with its path. */
import { describe, expect, test } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { configuredPoints } from '../../drivers/points.js';

const bus = { id: 'plc', kind: 'tcp', host: '127.0.0.1', port: 502 };

describe('point confirm', () => {
  test('reaches the point metadata of Modbus and line points, only where it is set', () => {
    const cfg = validateConfig({
      buses: [bus],
      devices: [
        {
          id: 'oven_1',
          driver: 'modbus',
          bus: 'plc',
          unit: 1,
          points: { setpoint: { table: 'holding', address: 0, access: 'rw', confirm: true }, fan: { table: 'coil', address: 0, access: 'rw', confirm: false }, temp: { table: 'input', address: 0 } },
        },
        { id: 'scale_1', driver: 'line', port: { path: '/dev/ttyUSB0' }, points: { tare: { type: 'bool', access: 'rw', write: 'T={value}', confirm: true }, weight: { type: 'float', command: 'W?', pattern: '^W=(.*)$' } } },
      ],
    });
    const oven = configuredPoints(cfg.devices[0]!);
    expect([oven['setpoint']!.confirm, oven['fan']!.confirm, 'confirm' in oven['temp']!]).toEqual([true, false, false]);
    const scale = configuredPoints(cfg.devices[1]!);
    expect([scale['tare']!.confirm, 'confirm' in scale['weight']!]).toEqual([true, false]);
  });

  test('anything but true or false is refused, with where it is', () => {
    let err: unknown;
    try {
      validateConfig({ buses: [bus], devices: [{ id: 'oven_1', driver: 'modbus', bus: 'plc', unit: 1, points: { setpoint: { table: 'holding', address: 0, confirm: 'yes' } } }] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual(['devices[0].points.setpoint.confirm: must be true or false']);
  });
});
