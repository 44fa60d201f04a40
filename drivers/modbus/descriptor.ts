/** Modbus RTU/TCP as a driver kind: one driver per configured bus that has devices on it. */
import { defineDriver } from '../descriptor.js';
import { modbusCrossChecks } from './checks.js';
import { ModbusDeviceSchema, type ModbusDeviceConfig } from './config.js';

export const modbusDriver = defineDriver({
  kind: 'modbus',
  schema: ModbusDeviceSchema,
  crossChecks: (cfg) => modbusCrossChecks(cfg as Parameters<typeof modbusCrossChecks>[0]),
  create: async (devices, shared, ctxFor) => {
    const { ModbusDriver } = await import('./driver.js');
    return shared.buses.flatMap((bus) => {
      const onBus = devices.filter((d: ModbusDeviceConfig) => d.bus === bus.id);
      return onBus.length > 0 ? [new ModbusDriver({ bus, devices: onBus, ctx: ctxFor(`modbus:${bus.id}`) })] : [];
    });
  },
});
