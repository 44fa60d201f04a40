/** The simulator as a driver kind: every simulated device runs in one driver. */
import { defineDriver } from '../descriptor.js';
import { SimulatorDeviceSchema } from './config.js';

export const simulatorDriver = defineDriver({
  kind: 'simulator',
  schema: SimulatorDeviceSchema,
  create: async (devices, _shared, ctxFor) => {
    const { SimulatorDriver } = await import('./index.js');
    return [new SimulatorDriver({ devices, ctx: ctxFor('simulator') })];
  },
});
