/**
 * Which driver runs which configured device. Each driver kind turns its share of the config
 * into one or more Driver instances (one per bus or port for real hardware).
 */
import type { Driver, DriverContext } from '../src/core/driver.js';
import type { GatewayConfig } from '../src/config/schema.js';
import { SimulatorDriver } from './simulator/index.js';
import type { SimulatorDeviceConfig } from './simulator/config.js';
import { LineDriver } from './line/index.js';
import type { LineDeviceConfig } from './line/config.js';
import { createModbusDrivers } from './modbus/index.js';

export function createDrivers(config: GatewayConfig, ctxFor: (driverId: string) => DriverContext): Driver[] {
  const drivers: Driver[] = [];
  const sim = config.devices.filter((d): d is SimulatorDeviceConfig => d.driver === 'simulator');
  if (sim.length > 0) drivers.push(new SimulatorDriver({ devices: sim, ctx: ctxFor('simulator') }));
  // One line driver per port: devices on the same port share it (and its one outstanding request).
  const linePorts = new Map<string, LineDeviceConfig[]>();
  for (const d of config.devices) if (d.driver === 'line') linePorts.set(d.port.path, [...(linePorts.get(d.port.path) ?? []), d]);
  for (const [path, devices] of linePorts) drivers.push(new LineDriver({ devices, ctx: ctxFor(`line:${path}`) }));
  drivers.push(...createModbusDrivers(config, ctxFor));
  return drivers;
}
