/**
 * RS-485 temperature/humidity sensor of the XY-MD02 / SHT20 type (the common cheap DIN-rail and
 * wall probes). Register map from its datasheet: input registers 0x0001 temperature and 0x0002
 * humidity, both x0.1; holding 0x0103 temperature correction x0.1 °C (-10.0 to 10.0).
 * Factory defaults: unit 1, 9600 baud 8N1.
 */
import type { Profile } from './types.js';

export const XY_MD02: Profile = {
  deviceType: 'sensor',
  source: 'XY-MD02 datasheet (input 0x0001-0x0002, holding 0x0103)',
  points: {
    temperature: { table: 'input', address: 0x0001, type: 'int16', scale: 0.1, unit: '°C', deadband: 0.1, description: 'Air temperature' },
    humidity: { table: 'input', address: 0x0002, type: 'uint16', scale: 0.1, unit: '%RH', deadband: 0.2, description: 'Relative humidity' },
    temperature_correction: {
      table: 'holding',
      address: 0x0103,
      type: 'int16',
      scale: 0.1,
      unit: '°C',
      access: 'rw',
      min: -10,
      max: 10,
      description: 'Offset added to the measured temperature',
    },
  },
};
