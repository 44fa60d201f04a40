/** Modbus: one driver per configured bus that has devices on it. */
import type { Driver, DriverContext } from '../../src/core/driver.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import type { ModbusDeviceConfig } from './config.js';
import { ModbusDriver } from './driver.js';

export { ModbusDriver } from './driver.js';

export function createModbusDrivers(config: GatewayConfig, ctxFor: (driverId: string) => DriverContext): Driver[] {
  const drivers: Driver[] = [];
  for (const bus of config.buses) {
    const devices = config.devices.filter((d): d is ModbusDeviceConfig => d.driver === 'modbus' && d.bus === bus.id);
    if (devices.length > 0) drivers.push(new ModbusDriver({ bus, devices, ctx: ctxFor(`modbus:${bus.id}`) }));
  }
  return drivers;
}
