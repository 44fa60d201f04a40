/**
 * Applies a new device list to a running gateway, restarting only the drivers (buses, ports,
 * the simulator) whose devices changed. Devices whose description is unchanged keep their
 * registry entry, so their seq and replay ring continue and resuming clients see no gap.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config/schema.js';
import { driverFingerprint } from './config/diff.js';
import type { Driver } from './core/driver.js';
import type { Registry } from './core/registry.js';

export interface DeviceReloadOptions {
  current: GatewayConfig;
  next: GatewayConfig;
  running: readonly Driver[];
  /** The drivers the next config asks for, constructed but not started. */
  candidates: readonly Driver[];
  registry: Registry;
  owner: Map<string, Driver>;
  log: Logger;
}

export interface DeviceReloadResult {
  drivers: Driver[];
  restarted: string[];
  started: string[];
  stopped: string[];
  devicesAdded: string[];
  devicesRemoved: string[];
  /** Drivers that failed to start or stop, with the reason. */
  errors: string[];
}

export async function reloadDevices(o: DeviceReloadOptions): Promise<DeviceReloadResult> {
  const result: DeviceReloadResult = { drivers: [], restarted: [], started: [], stopped: [], devicesAdded: [], devicesRemoved: [], errors: [] };
  const runningById = new Map(o.running.map((d) => [d.id, d]));
  const candidateIds = new Set(o.candidates.map((d) => d.id));
  const replace: Driver[] = [];
  const retire: Driver[] = [];

  for (const cand of o.candidates) {
    const old = runningById.get(cand.id);
    const ids = cand.devices().map((d) => d.id);
    if (old !== undefined && isDeepStrictEqual(old.devices().map((d) => d.id), ids) && driverFingerprint(o.current, ids) === driverFingerprint(o.next, ids)) {
      result.drivers.push(old);
      continue;
    }
    if (old !== undefined) retire.push(old);
    replace.push(cand);
    result.drivers.push(cand);
  }
  for (const old of o.running) if (!candidateIds.has(old.id)) retire.push(old);

  // Stop first: a stopped driver reports nothing more, and a serial port is free for its successor.
  for (const old of retire) {
    try {
      await old.stop();
    } catch (err) {
      result.errors.push(`driver ${old.id} did not stop cleanly: ${(err as Error).message}`);
    }
    (candidateIds.has(old.id) ? result.restarted : result.stopped).push(old.id);
  }

  const nextDescs = new Map(o.candidates.flatMap((d) => d.devices()).map((desc) => [desc.id, desc]));
  for (const old of retire) {
    for (const desc of old.devices()) {
      const nd = nextDescs.get(desc.id);
      if (nd !== undefined && isDeepStrictEqual(nd, o.registry.descriptor(desc.id))) continue;
      o.registry.remove(desc.id);
      o.owner.delete(desc.id);
      if (nd === undefined) result.devicesRemoved.push(desc.id);
    }
  }
  for (const cand of replace) {
    for (const desc of cand.devices()) {
      if (!o.registry.has(desc.id)) {
        o.registry.add(desc);
        if (!o.current.devices.some((d) => d.id === desc.id)) result.devicesAdded.push(desc.id);
      }
      o.owner.set(desc.id, cand);
    }
  }
  for (const cand of replace) {
    try {
      await cand.start();
      if (!result.restarted.includes(cand.id)) result.started.push(cand.id);
      o.log.info({ driver: cand.id, devices: cand.devices().length }, 'driver started');
    } catch (err) {
      result.errors.push(`driver ${cand.id} failed to start: ${(err as Error).message}`);
      o.log.error({ driver: cand.id, err }, 'driver failed to start after reload');
    }
  }
  return result;
}
