/**
 * Which driver runs which configured device. Each driver kind turns its share of the config
 * into one or more Driver instances (one per bus or port for real hardware).
 */
import type { Driver, DriverContext } from '../src/core/driver.js';
import type { GatewayConfig } from '../src/config/schema.js';
import { SimulatorDriver } from './simulator/index.js';
import type { SimulatorDeviceConfig } from './simulator/config.js';
import type { LineDeviceConfig } from './line/config.js';

/**
 * The line and Modbus drivers (and serialport / modbus-serial behind them) are imported only
 * when the config has such devices: a gateway on the simulator starts faster without them.
 */
export async function createDrivers(config: GatewayConfig, ctxFor: (driverId: string) => DriverContext): Promise<Driver[]> {
  const drivers: Driver[] = [];
  const sim = config.devices.filter((d): d is SimulatorDeviceConfig => d.driver === 'simulator');
  if (sim.length > 0) drivers.push(new SimulatorDriver({ devices: sim, ctx: ctxFor('simulator') }));
  // One line driver per port: devices on the same port share it (and its one outstanding request).
  const linePorts = new Map<string, LineDeviceConfig[]>();
  for (const d of config.devices) if (d.driver === 'line') linePorts.set(d.port.path, [...(linePorts.get(d.port.path) ?? []), d]);
  if (linePorts.size > 0) {
    const { LineDriver } = await import('./line/index.js');
    for (const [path, devices] of linePorts) drivers.push(new LineDriver({ devices, ctx: ctxFor(`line:${path}`) }));
  }
  if (config.devices.some((d) => d.driver === 'modbus')) {
    const { createModbusDrivers } = await import('./modbus/index.js');
    drivers.push(...createModbusDrivers(config, ctxFor));
  }
  return drivers;
}
