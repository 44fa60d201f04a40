/** The serial line protocol as a driver kind: one driver per port, shared by the devices on it. */
import { defineDriver } from '../descriptor.js';
import { checkLineDevices } from './checks.js';
import { LineDeviceSchema, type LineDeviceConfig } from './config.js';

export const lineDriver = defineDriver({
  kind: 'line',
  schema: LineDeviceSchema,
  crossChecks: (cfg) => checkLineDevices(cfg.devices, cfg.buses),
  create: async (devices, _shared, ctxFor) => {
    // Devices on the same port share one driver (and its one outstanding request).
    const ports = new Map<string, LineDeviceConfig[]>();
    for (const d of devices) ports.set(d.port.path, [...(ports.get(d.port.path) ?? []), d]);
    const { LineDriver } = await import('./index.js');
    return [...ports].map(([path, onPort]) => new LineDriver({ devices: onPort, ctx: ctxFor(`line:${path}`) }));
  },
});
