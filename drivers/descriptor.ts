/**
 * What a driver kind tells the rest of the gateway about itself: the `driver:` value of its
 * devices, their config schema, the rules that span several config entries, and how its devices
 * become running drivers. The config schema and createDrivers are built from the list in
 * drivers/kinds.ts, so a new protocol is one folder and one line there.
 */
import type * as v from 'valibot';
import type { Driver, DriverContext } from '../src/core/driver.js';
import type { BusConfig } from './bus/config.js';

/** The entries the cross-checks see; one that failed the schema is `undefined` and keeps its index (its path). */
export interface CrossCheckEntries {
  buses: readonly (BusConfig | undefined)[];
  devices: readonly ({ driver: string } | undefined)[];
}

/**
 * Entries of the config outside `devices` a kind may need (the Modbus buses). Typed here, not
 * as the whole config, because the config's type is built from the descriptors.
 */
export interface SharedEntries {
  buses: readonly BusConfig[];
}

export interface DriverDescriptor<S extends v.GenericSchema = v.GenericSchema> {
  /** The `driver:` value of a device entry. */
  kind: string;
  /** One device entry of this kind (a strict object whose `driver` is the literal `kind`). */
  schema: S;
  /** Problems that span entries, each with its path (`devices[3].points.speed.pattern: ...`). */
  crossChecks?: (cfg: CrossCheckEntries) => string[];
  /**
   * The running drivers for this kind's devices (never empty). Heavy code (serial ports, protocol
   * stacks) is imported here, so a gateway without such devices starts without it.
   */
  // A method, not a function property: a kind's descriptor must also stand as a descriptor of
  // any schema, for the loops over every kind.
  create(devices: v.InferOutput<S>[], shared: SharedEntries, ctxFor: (driverId: string) => DriverContext): Promise<Driver[]>;
}

/** Keeps the schema's own type, so the device union stays exact. */
export function defineDriver<S extends v.GenericSchema>(descriptor: DriverDescriptor<S>): DriverDescriptor<S> {
  return descriptor;
}
