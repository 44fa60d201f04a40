/**
 * Single-phase energy meter Eastron SDM120-Modbus. Register map from Eastron's "SDM120 Modbus
 * protocol" document: input registers, IEEE 754 float32, high word first. Factory defaults:
 * unit 1, 2400 baud 8N1.
 */
import type { Profile } from './types.js';

const f32 = (address: number, unit: string, description: string, deadband = 0) =>
  ({ table: 'input', address, type: 'float32', unit, description, deadband }) as const;

export const SDM120: Profile = {
  deviceType: 'meter',
  source: 'Eastron SDM120 Modbus protocol (input registers 0x0000-0x004A, 0x0156)',
  points: {
    voltage: f32(0x0000, 'V', 'Line to neutral voltage', 0.5),
    current: f32(0x0006, 'A', 'Current', 0.01),
    active_power: f32(0x000c, 'W', 'Active power', 1),
    apparent_power: f32(0x0012, 'VA', 'Apparent power', 1),
    reactive_power: f32(0x0018, 'VAr', 'Reactive power', 1),
    power_factor: { table: 'input', address: 0x001e, type: 'float32', deadband: 0.01, description: 'Power factor (-1 to 1)' },
    frequency: f32(0x0046, 'Hz', 'Frequency', 0.01),
    import_energy: f32(0x0048, 'kWh', 'Import active energy'),
    export_energy: f32(0x004a, 'kWh', 'Export active energy'),
    total_energy: f32(0x0156, 'kWh', 'Total active energy'),
  },
  // EN 50160 supply limits for a 230 V / 50 Hz network: 230 V ± 10 %, 50 Hz ± 1 %. The on-delay
  // keeps a motor start's short dip from raising anything.
  alarms: {
    voltage: { hi: 253, lo: 207, deadband: 2, on_delay_ms: 10_000 },
    frequency: { hi: 50.5, lo: 49.5, deadband: 0.05, on_delay_ms: 10_000 },
  },
};
