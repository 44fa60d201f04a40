/**
 * A generic variable-frequency drive. VFD vendors differ in addresses, so this follows the
 * common shape of the "Modbus communication" chapter of small drives (a run coil, a speed
 * setpoint holding register, status in input registers) rather than one brand; copy it into
 * `points:` and change the addresses to match a specific manual.
 */
import type { Profile } from './types.js';

export const VFD: Profile = {
  deviceType: 'motor',
  source: 'generic VFD map: coil 0 run, holding 0 setpoint, input 0-3 status',
  points: {
    running: { table: 'coil', address: 0, type: 'bool', access: 'rw', description: 'Run (true) or stop (false)' },
    speed: { table: 'holding', address: 0, type: 'uint16', unit: 'rpm', access: 'rw', min: 0, max: 3000, description: 'Speed setpoint' },
    actual_speed: { table: 'input', address: 0, type: 'uint16', unit: 'rpm', deadband: 2, description: 'Measured shaft speed' },
    current: { table: 'input', address: 1, type: 'uint16', scale: 0.01, unit: 'A', deadband: 0.02, description: 'Motor current' },
    fault: {
      table: 'input',
      address: 2,
      type: 'uint16',
      enum: { '0': 'none', '1': 'overcurrent', '2': 'overvoltage', '3': 'undervoltage', '4': 'overheat', '5': 'overload', '6': 'ground_fault' },
      description: 'Active fault code',
    },
    dc_bus_voltage: { table: 'input', address: 3, type: 'uint16', scale: 0.1, unit: 'V', deadband: 1, description: 'DC bus voltage' },
  },
  // A drive that reports a fault has tripped: each fault code is its own alarm.
  alarms: {
    fault: {
      codes: {
        overcurrent: { priority: 'high', message: 'Drive tripped: overcurrent' },
        overvoltage: { priority: 'high', message: 'Drive tripped: DC bus overvoltage' },
        undervoltage: { priority: 'medium', message: 'Drive tripped: DC bus undervoltage (supply dip?)' },
        overheat: { priority: 'high', message: 'Drive tripped: heatsink overheat' },
        overload: { priority: 'high', message: 'Drive tripped: motor overload (I²t)' },
        ground_fault: { priority: 'critical', message: 'Drive tripped: ground fault' },
      },
    },
  },
};
