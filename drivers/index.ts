/**
 * Which driver runs which configured device: each kind in drivers/kinds.ts turns its devices
 * into one or more Driver instances (one per bus or port for real hardware). A kind without
 * devices is not asked, so its heavy modules are never loaded.
 */
import type { Driver, DriverContext } from '../src/core/driver.js';
import type { GatewayConfig } from '../src/config/schema.js';
import { ALL_KINDS } from './kinds.js';

export async function createDrivers(config: GatewayConfig, ctxFor: (driverId: string) => DriverContext): Promise<Driver[]> {
  const drivers: Driver[] = [];
  for (const kind of ALL_KINDS) {
    const devices = config.devices.filter((d) => d.driver === kind.kind);
    if (devices.length > 0) drivers.push(...(await kind.create(devices, config, ctxFor)));
  }
  return drivers;
}
