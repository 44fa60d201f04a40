import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { deviceAllowDropIn, serialPorts } from '../../src/platform/device-allow.js';

function config(text: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'mgw-ports-')), 'gateway.yaml');
  writeFileSync(file, text);
  return { config: loadConfigFile(file), file };
}

describe('the serial ports a config names, for DeviceAllow=', () => {
  const { config: c, file } = config(
    'buses:\n' +
      '  - { id: hat0, kind: rtu, port: /dev/ttySC0 }\n' +
      '  - { id: plc, kind: tcp, host: 10.0.0.5 }\n' +
      '  - { id: usb, kind: rtu, port: "/dev/serial/by-id/usb-FTDI RS485-if00" }\n' +
      'devices:\n' +
      '  - { id: vfd_01, driver: modbus, bus: hat0, unit: 1, profile: vfd }\n' +
      '  - { id: vfd_02, driver: modbus, bus: usb, unit: 2, profile: vfd }\n' +
      '  - { id: scale, driver: line, port: { path: /dev/ttyMAX1 }, points: { weight: { type: float, pattern: "^W(.*)$" } } }\n' +
      '  - { id: m1, driver: simulator, model: motor }\n',
  );

  it('lists RTU bus ports and line device ports once each, not TCP buses', () => {
    expect(serialPorts(c)).toEqual(['/dev/ttySC0', '/dev/serial/by-id/usb-FTDI RS485-if00', '/dev/ttyMAX1']);
  });

  it('writes one DeviceAllow per port, quoting a path with a space', () => {
    const text = deviceAllowDropIn(c, file);
    expect(text).toContain('[Service]\nDeviceAllow=/dev/ttySC0 rw\nDeviceAllow="/dev/serial/by-id/usb-FTDI RS485-if00" rw\nDeviceAllow=/dev/ttyMAX1 rw\n');
    expect(text).toContain(`from ${file}`);
  });

  it('writes an empty [Service] section for a config without serial ports', () => {
    const only = config('devices:\n  - { id: m1, driver: simulator, model: motor }\n');
    expect(deviceAllowDropIn(only.config, only.file).endsWith('[Service]\n')).toBe(true);
  });
});
