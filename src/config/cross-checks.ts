/**
 * Rules that span several entries of a config, which a per-field schema cannot see (a device on
 * a bus that is not declared, two devices with one id, a writable input register, a float32 past
 * the last address). They run on every entry that passed the schema, also when others did not,
 * so that one `mgw config check` reports every problem instead of one round of schema problems
 * and, once those are fixed, a second round of these.
 */
import * as v from 'valibot';
import { AuthSchema, authProblems, type AuthConfig } from '../server/auth-config.js';
import { ALL_KINDS } from '../../drivers/kinds.js';
import { BusSchema, type BusConfig } from '../../drivers/bus/config.js';
import { DeviceSchema, type DeviceConfig, type GatewayConfig } from './schema.js';
import { alarmDefinitionsOf } from '../alarms/from-config.js';
import { NorthboundSchema, northboundProblems, type NorthboundConfig } from '../northbound/config.js';

/**
 * The entries the cross-checks look at. An entry that failed the schema is `undefined`: the
 * checks skip it (its own problems are reported already) and every other entry keeps its index,
 * which is its path in the messages (`devices[3].bus`).
 */
export interface CheckedEntries {
  auth: AuthConfig | undefined;
  buses: readonly (BusConfig | undefined)[];
  devices: readonly (DeviceConfig | undefined)[];
  northbound?: NorthboundConfig | undefined;
}

export function crossChecks(cfg: CheckedEntries | GatewayConfig): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  cfg.devices.forEach((d, i) => {
    if (d === undefined) return;
    const first = seen.get(d.id);
    if (first !== undefined) problems.push(`devices[${i}].id: "${d.id}" is already used by devices[${first}]`);
    else seen.set(d.id, i);
  });
  if (cfg.auth !== undefined) problems.push(...authProblems(cfg.auth));
  for (const kind of ALL_KINDS) if (kind.crossChecks !== undefined) problems.push(...kind.crossChecks(cfg));
  problems.push(...alarmDefinitionsOf(cfg).problems);
  problems.push(...northboundProblems(cfg.northbound));
  return problems;
}

/** The entries of a config that failed the schema as a whole which pass it one by one. */
export function passingEntries(data: unknown): CheckedEntries {
  const raw = isRecord(data) ? data : {};
  const auth = v.safeParse(AuthSchema, raw['auth'] ?? {});
  const rawBuses = listOf(raw['buses']);
  const buses = rawBuses.map((b) => parsed(BusSchema, b));
  // A device on a bus whose entry is broken is left out too: "no bus X" would be wrong.
  const brokenBuses = new Set<unknown>();
  rawBuses.forEach((b, i) => {
    if (buses[i] === undefined && isRecord(b)) brokenBuses.add(b['id']);
  });
  const devices = listOf(raw['devices']).map((d) => {
    const device = parsed(DeviceSchema, d);
    return device?.driver === 'modbus' && brokenBuses.has(device.bus) ? undefined : device;
  });
  const northbound = v.safeParse(NorthboundSchema, raw['northbound'] ?? {});
  return { auth: auth.success ? auth.output : undefined, buses, devices, northbound: northbound.success ? northbound.output : undefined };
}

/**
 * The items of a list from the file as a plain array: a YAML list may carry keys of its own
 * (`constructor: -1`), which array methods would otherwise consult.
 */
function listOf(x: unknown): unknown[] {
  return Array.isArray(x) ? Array.from({ length: x.length }, (_, i) => (x as unknown[])[i]) : [];
}

function parsed<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> | undefined {
  const r = v.safeParse(schema, value);
  return r.success ? r.output : undefined;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
