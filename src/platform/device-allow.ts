/**
 * The serial ports a configuration names, as systemd `DeviceAllow=` lines for a drop-in.
 *
 * The unit allows the usual serial drivers by their /proc/devices group (char-ttyUSB, -ttyACM,
 * -ttyAMA, -ttyS, -ttySC for SC16IS7xx HATs, -ttyMAX for MAX310x). A port of any other driver
 * named in the config (or a group that registers after the service started) would be denied
 * under DevicePolicy=closed while `mgw modbus` works outside the service; systemd/install.sh
 * therefore writes these lines into machine-gateway.service.d/ports.conf. systemd resolves each
 * path (symlinks such as /dev/serial/by-id/... too) to its device number when the unit starts.
 *
 *   node dist/src/platform/device-allow.js /etc/machine-gateway/gateway.yaml
 */
import { loadConfigFile } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';

/** Every serial port path the config names (RTU buses, line devices), each once, in order. */
export function serialPorts(config: GatewayConfig): string[] {
  const ports: string[] = [];
  for (const bus of config.buses) if (bus.kind === 'rtu') ports.push(bus.port);
  for (const device of config.devices) if (device.driver === 'line') ports.push(device.port.path);
  return [...new Set(ports)];
}

/** The drop-in: a comment saying where it came from, then one DeviceAllow= per port. */
export function deviceAllowDropIn(config: GatewayConfig, file: string): string {
  const ports = serialPorts(config);
  const lines = ports.map((p) => `DeviceAllow=${quote(p)} rw`);
  return (
    `# Written by systemd/install.sh from ${file}: the serial ports it names.\n` +
    `# Regenerate after adding a port: systemd/install.sh --ports (or a reinstall).\n` +
    `[Service]\n${lines.join('\n')}${lines.length ? '\n' : ''}`
  );
}

/** systemd unit-file quoting: paths with spaces or quotes in double quotes, escaped. */
function quote(path: string): string {
  return /^[A-Za-z0-9/_.:+@-]+$/.test(path) ? path : `"${path.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const invoked = process.argv[1] ?? '';
if (invoked.endsWith('device-allow.js') || invoked.endsWith('device-allow.ts')) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: device-allow.js CONFIG_FILE\n');
    process.exit(64);
  }
  try {
    process.stdout.write(deviceAllowDropIn(loadConfigFile(file), file));
  } catch (err) {
    process.stderr.write(`device-allow: ${(err as Error).message}\n`);
    process.exit(78);
  }
}
