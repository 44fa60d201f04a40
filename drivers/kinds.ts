/**
 * Every driver kind the gateway knows, in the order their drivers start and their cross-checks
 * run. A new protocol adds its descriptor here.
 */
import type { DriverDescriptor } from './descriptor.js';
import { simulatorDriver } from './simulator/descriptor.js';
import { lineDriver } from './line/descriptor.js';
import { modbusDriver } from './modbus/descriptor.js';

export const DRIVER_KINDS = [simulatorDriver, lineDriver, modbusDriver] as const;

/** The same list seen without each kind's schema type, for loops over every kind. */
export const ALL_KINDS: readonly DriverDescriptor[] = DRIVER_KINDS;
