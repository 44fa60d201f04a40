/**
 * Config rules for buses and Modbus devices that span several entries (the per-field schema
 * cannot see them). Each problem names its path and what to change.
 */
import type { CrossCheckEntries } from '../descriptor.js';
import type { ModbusDeviceConfig, ModbusPointConfig } from './config.js';
import { isBitTable, parseBits, pointField, pointType, registerCount } from './codec.js';
import { devicePointConfigs } from './device.js';
import { PROFILES } from '../profiles/index.js';

function isModbus(d: { driver: string } | undefined): d is ModbusDeviceConfig {
  return d?.driver === 'modbus';
}

/** Entries that failed the schema are `undefined` (see CrossCheckEntries): skipped, their index kept. */
export function modbusCrossChecks(cfg: CrossCheckEntries): string[] {
  const problems: string[] = [];
  const buses = cfg.buses ?? [];
  const busIndex = new Map<string, number>();
  buses.forEach((b, i) => {
    if (b === undefined) return;
    const first = busIndex.get(b.id);
    if (first !== undefined) problems.push(`buses[${i}].id: "${b.id}" is already used by buses[${first}]`);
    else busIndex.set(b.id, i);
  });
  const unitsOnBus = new Map<string, number>();
  cfg.devices.forEach((d, i) => {
    if (!isModbus(d)) return;
    const where = `devices[${i}]`;
    const bus = busIndex.has(d.bus) ? buses[busIndex.get(d.bus)!] : undefined;
    if (bus !== undefined && bus.kind !== 'tcp' && (d.unit < 1 || d.unit > 247)) {
      problems.push(`${where}.unit: ${d.unit} on serial bus "${d.bus}": units there are 1-247 (0 is broadcast, 248-255 reserved); 0 and 255 are for Modbus TCP`);
    }
    if (!busIndex.has(d.bus)) {
      const known = [...busIndex.keys()];
      problems.push(`${where}.bus: no bus "${d.bus}" under buses:${known.length > 0 ? ` (known: ${known.join(', ')})` : ' (the list is empty)'}`);
    } else {
      const key = `${d.bus}/${d.unit}`;
      const other = unitsOnBus.get(key);
      if (other !== undefined) problems.push(`${where}.unit: unit ${d.unit} on bus "${d.bus}" is already devices[${other}]; every unit on a line needs its own id`);
      else unitsOnBus.set(key, i);
    }
    if (d.profile === undefined && (d.points === undefined || Object.keys(d.points).length === 0)) {
      problems.push(`${where}: name a profile (profile: vfd) or declare points (points: {...})`);
      return;
    }
    const dropping = dropChecks(d, where);
    problems.push(...dropping);
    if (dropping.length > 0) return;
    if (Object.keys(devicePointConfigs(d)).length === 0) {
      problems.push(`${where}: every point of profile ${d.profile} is dropped; keep at least one or declare points`);
      return;
    }
    problems.push(...pointChecks(d, where));
  });
  return problems;
}

/** `points: {name: null}` and `exclude:` drop points of the profile: they must name one. */
function dropChecks(d: ModbusDeviceConfig, where: string): string[] {
  const problems: string[] = [];
  const nulls = Object.entries(d.points ?? {}).filter(([, p]) => p === null).map(([name]) => name);
  if (d.profile === undefined) {
    for (const name of nulls) problems.push(`${where}.points.${name}: null drops a point of the profile, but the device names no profile; remove the entry`);
    if (d.exclude !== undefined) problems.push(`${where}.exclude: drops points of the profile, but the device names no profile; remove it`);
    return problems;
  }
  const known = Object.keys(PROFILES[d.profile].points);
  const unknown = (name: string) => `no point ${JSON.stringify(name)} in profile ${d.profile} (its points: ${known.join(', ')})`;
  for (const name of nulls) if (!known.includes(name)) problems.push(`${where}.points.${name}: null drops a point of the profile, but there is ${unknown(name)}`);
  (d.exclude ?? []).forEach((name, i) => {
    if (!known.includes(name)) problems.push(`${where}.exclude[${i}]: ${unknown(name)}`);
    else if (d.points !== undefined && Object.hasOwn(d.points, name) && d.points[name] !== null) {
      problems.push(`${where}.exclude[${i}]: ${name} is excluded and also declared under points; keep one`);
    }
  });
  return problems;
}

function pointChecks(d: ModbusDeviceConfig, where: string): string[] {
  const problems: string[] = [];
  const points = devicePointConfigs(d);
  const pathOf = (name: string) => (d.points !== undefined && Object.hasOwn(d.points, name) ? `${where}.points.${name}` : `${where}.profile (${d.profile}).${name}`);
  const spans: { name: string; table: string; from: number; to: number; mask: number | undefined }[] = [];
  for (const [name, p] of Object.entries(points)) {
    const at = pathOf(name);
    const type = pointType(p);
    problems.push(...typeChecks(p, type, at));
    const count = type === 'bool' || type === 'bit' ? 1 : registerCount(type, p.length);
    const shifted = d.address_offset !== undefined && d.address_offset !== 0 && d.points !== undefined && Object.hasOwn(d.points, name);
    const onWire = shifted ? ` (address ${p.address} on the wire with address_offset ${d.address_offset})` : '';
    if (p.address < 0) problems.push(`${at}.address: ${p.address - (d.address_offset ?? 0)} is before the first address${onWire}`);
    else if (p.address + count - 1 > 65535) problems.push(`${at}.address: a ${type} at ${p.address} runs past the last address 65535${onWire}`);
    const field = pointField(p, type);
    const mask = field === undefined ? undefined : ((1 << field.width) - 1) << field.lo;
    spans.push({ name, table: p.table, from: p.address, to: p.address + count - 1, mask });
  }
  // Grouped by table: a plain comparison (localeCompare would load ICU's collation tables, ~3 MiB).
  spans.sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : a.from - b.from));
  for (let i = 1; i < spans.length; i++) {
    for (let j = i - 1; j >= 0 && spans[j]!.table === spans[i]!.table; j--) {
      const a = spans[j]!;
      const b = spans[i]!;
      if (a.to < b.from) continue;
      // Bits, bytes and bit fields of one register may share it; anything else sharing a register is a mistake.
      if (a.mask !== undefined && b.mask !== undefined) {
        if ((a.mask & b.mask) === 0) continue;
        const pb = points[b.name]!;
        if (pointType(pb) === 'bit' && pointType(points[a.name]!) === 'bit') problems.push(`${pathOf(b.name)}.bit: bit ${pb.bit ?? 0} of ${b.table} ${b.from} is already point ${a.name}`);
        else problems.push(`${pathOf(b.name)}: its bits of ${b.table} ${b.from} overlap point ${a.name}`);
        continue;
      }
      problems.push(`${pathOf(b.name)}.address: overlaps point ${a.name} (${a.table} ${a.from}${a.to > a.from ? `-${a.to}` : ''})`);
    }
  }
  return problems;
}

function typeChecks(p: ModbusPointConfig, type: string, at: string): string[] {
  const problems: string[] = [];
  const bits = isBitTable(p.table);
  if (bits && type !== 'bool') problems.push(`${at}.type: a ${p.table} holds one bit; use type bool (or leave type out)`);
  if (!bits && type === 'bool') problems.push(`${at}.type: registers hold 16 bits; use type bit with bit: 0-15 for one bit of a ${p.table} register`);
  if (type === 'bit' && p.bit === undefined) problems.push(`${at}.bit: type bit needs bit: 0-15 (0 = least significant)`);
  if (type !== 'bit' && p.bit !== undefined) problems.push(`${at}.bit: only points of type bit take bit:`);
  if (p.access === 'rw' && (p.table === 'input' || p.table === 'discrete')) {
    problems.push(`${at}.access: ${p.table === 'input' ? 'input registers' : 'discrete inputs'} are read-only in Modbus; a writable point must be a ${p.table === 'input' ? 'holding register' : 'coil'}`);
  }
  const partial = type === 'bit' || type === 'int8' || type === 'uint8' || p.bits !== undefined;
  if (p.bit_write !== undefined && !partial) problems.push(`${at}.bit_write: only points that are part of a register (type bit, int8, uint8, or bits:) take bit_write:`);
  if (p.bits !== undefined) {
    if (type !== 'uint16') problems.push(`${at}.bits: a bit field is unsigned: use type uint16 (or leave type out)`);
    const [a, b] = p.bits.split('-').map(Number) as [number, number];
    if (a > b) problems.push(`${at}.bits: write the low bit first (${b}-${a})`);
    else if (parseBits(p.bits).width === 16) problems.push(`${at}.bits: 0-15 is the whole register; leave bits: out`);
  }
  if ((type === 'int8' || type === 'uint8') && p.byte === undefined) problems.push(`${at}.byte: type ${type} needs byte: high or low`);
  if (type !== 'int8' && type !== 'uint8' && p.byte !== undefined) problems.push(`${at}.byte: only points of type int8 or uint8 take byte:`);
  if (type === 'string' && p.length === undefined) problems.push(`${at}.length: type string needs length: its characters (two per register)`);
  if (type !== 'string' && (p.length !== undefined || p.trim !== undefined)) problems.push(`${at}.${p.length !== undefined ? 'length' : 'trim'}: only points of type string take it`);
  if (p.scale === 0) problems.push(`${at}.scale: must not be 0`);
  if (p.min !== undefined && p.max !== undefined && p.min > p.max) problems.push(`${at}: min ${p.min} is above max ${p.max}`);
  const notNumber = type === 'bool' || type === 'bit' || type === 'string';
  if (p.enum !== undefined && (notNumber || type.startsWith('float'))) problems.push(`${at}.enum: labels need an integer type (int8 to uint64, bcd16, bcd32)`);
  if (type === 'string' && (p.scale !== 1 || p.offset !== 0 || p.min !== undefined || p.max !== undefined || p.deadband !== 0)) {
    problems.push(`${at}: a string takes no scale, offset, min, max or deadband`);
  }
  if (p.range_check) {
    if (notNumber || p.enum !== undefined) problems.push(`${at}.range_check: only numeric points have a range; remove it`);
    else if (p.min === undefined && p.max === undefined) problems.push(`${at}.range_check: needs the physical range as min and/or max`);
  }
  return problems;
}
