/**
 * Rules of line devices a per-field schema cannot express: regexes that must compile, groups
 * that must exist, templates that must hold {value}, and ports that several devices share with
 * the same settings. Each problem carries its path (`devices[3].points.speed.pattern: ...`).
 */
import type { LineDeviceConfig, LinePointConfig } from './config.js';
import { groupCount, groupOf } from './convert.js';

interface AnyDevice {
  driver: string;
}

/** A serial bus of another driver (Modbus RTU), which must not claim a line device's port. */
interface OtherBus {
  id: string;
  kind: string;
  port?: unknown;
}

/** Entries that failed the schema are `undefined`: skipped, so the others keep their index (their path). */
export function checkLineDevices(devices: readonly (AnyDevice | undefined)[], buses: readonly (OtherBus | undefined)[] = []): string[] {
  const problems: string[] = [];
  const ports = new Map<string, { index: number; settings: string }>();
  devices.forEach((d, i) => {
    if (d?.driver !== 'line') return;
    const dev = d as LineDeviceConfig;
    const at = `devices[${i}]`;
    checkDelimiter(dev.port.delimiter, `${at}.port.delimiter`, problems);
    const settings = JSON.stringify(dev.port);
    const first = ports.get(dev.port.path);
    const bus = buses.findIndex((b) => (b?.kind === 'rtu' || b?.kind === 'ascii') && b.port === dev.port.path);
    if (bus !== -1) problems.push(`${at}.port.path: ${dev.port.path} is already the port of buses[${bus}] (${buses[bus]!.id}); one port serves one driver`);
    if (first === undefined) ports.set(dev.port.path, { index: i, settings });
    else if (first.settings !== settings) {
      problems.push(`${at}.port: ${dev.port.path} is shared with devices[${first.index}], so its settings must be the same there`);
    }
    if (dev.error_pattern !== undefined) compile(dev.error_pattern, `${at}.error_pattern`, problems);
    for (const [name, point] of Object.entries(dev.points)) checkPoint(name, point, `${at}.points.${name}`, problems);
  });
  return problems;
}

function checkPoint(name: string, p: LinePointConfig, at: string, problems: string[]): void {
  if (p.pattern === undefined) {
    if (p.command !== undefined) problems.push(`${at}.pattern: a point with \`command\` needs \`pattern\` to find its value in the answer`);
    else if (p.access === 'r') problems.push(`${at}: a read-only point needs \`pattern\` (and \`command\` if the device must be asked)`);
  } else {
    const re = compile(p.pattern, `${at}.pattern`, problems);
    if (re !== undefined) checkGroup(name, p.pattern, re, p.group, `${at}.group`, problems);
  }
  if (p.access === 'rw' && p.write === undefined) problems.push(`${at}.write: a writable point (access: rw) needs a write template, e.g. "SET={value}"`);
  if (p.write !== undefined) {
    if (p.access !== 'rw') problems.push(`${at}.write: the point is read-only; set \`access: rw\` to make it writable`);
    if (!p.write.includes('{value}')) problems.push(`${at}.write: the template must contain {value}, e.g. "${p.write.replace(/[=:\s]*$/, '')}={value}"`);
  }
  if (p.ack !== undefined) {
    compile(p.ack, `${at}.ack`, problems);
    if (p.write === undefined) problems.push(`${at}.ack: only a point with \`write\` is acknowledged`);
  }
  if (p.type === 'enum' && (p.enum === undefined || Object.keys(p.enum).length === 0)) {
    problems.push(`${at}.enum: type enum needs a map of raw texts to labels, e.g. {"0": stopped, "1": running}`);
  }
  if (p.type !== 'enum' && p.enum !== undefined) problems.push(`${at}.enum: only for type enum`);
  const numeric = p.type === 'int' || p.type === 'float';
  if (!numeric) {
    for (const key of ['min', 'max'] as const) if (p[key] !== undefined) problems.push(`${at}.${key}: only for type int or float`);
    if (p.scale !== 1 || p.offset !== 0) problems.push(`${at}: scale and offset are only for type int or float`);
  }
  if (p.scale === 0) problems.push(`${at}.scale: must not be 0`);
  if (p.min !== undefined && p.max !== undefined && p.min > p.max) problems.push(`${at}.min: ${p.min} is above max ${p.max}`);
}

function checkGroup(name: string, pattern: string, re: RegExp, group: string | number | undefined, at: string, problems: string[]): void {
  const g = groupOf(name, pattern, group);
  if (typeof g === 'string') {
    if (!pattern.includes(`(?<${g}>`)) problems.push(`${at}: the pattern has no group named "${g}"`);
    return;
  }
  const n = groupCount(re);
  if (n === 0) problems.push(`${at.replace(/\.group$/, '.pattern')}: needs a capture group around the value, e.g. "^SPEED=(\\d+)$"`);
  else if (g > n) problems.push(`${at}: the pattern has only ${n} capture group${n === 1 ? '' : 's'}`);
}

function compile(source: string, at: string, problems: string[]): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch (err) {
    problems.push(`${at}: not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`);
    return undefined;
  }
}

function checkDelimiter(delimiter: string, at: string, problems: string[]): void {
  // Single quotes in YAML keep backslashes: '\n' is two characters, almost never what is meant.
  if (/\\[nrt]/.test(delimiter)) {
    problems.push(`${at}: "${delimiter}" is a backslash and a letter; write lf, crlf or cr, or use double quotes ("\\r\\n")`);
  }
}
