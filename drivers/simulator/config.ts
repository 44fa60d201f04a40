import * as v from 'valibot';
import { deviceCommon } from '../../src/config/fields.js';

export const SIMULATOR_MODELS = ['motor', 'sensor', 'io'] as const;

/** A simulated device: no hardware needed; `npm start` runs on these by default. */
export const SimulatorDeviceSchema = v.strictObject(
  {
    ...deviceCommon,
    driver: v.literal('simulator'),
    model: v.pipe(
      v.picklist(SIMULATOR_MODELS, `must be one of ${SIMULATOR_MODELS.join(', ')}`),
      v.description('motor: speed setpoint, run/stop, actual speed, current, temperature. sensor: temperature and humidity. io: a remote I/O block with 20 analog inputs ai01-ai20 (0-100 %).'),
    ),
  },
  'unknown setting',
);

export type SimulatorDeviceConfig = v.InferOutput<typeof SimulatorDeviceSchema>;
