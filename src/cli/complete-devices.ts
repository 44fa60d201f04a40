#!/usr/bin/env node
/**
 * Device ids of the running gateway, one per line, for shell completion, or with `--points ID`
 * the writable points of that device as `name=` (what `mgw set ID` takes). A separate entry point
 * so that Tab does not pay for loading the whole CLI (the daemon, serial and Modbus stacks):
 * this file needs only the REST helper. Silent on every failure, and gives up after a short
 * timeout (MGW_COMPLETE_TIMEOUT_MS, default 500 ms) so a stopped gateway never makes the shell hang.
 *
 * Usage: complete-devices.js [--url URL] [--token TOKEN] [--points ID]   (defaults: MGW_URL, MGW_TOKEN)
 */
import { api, type ApiOptions } from './api.js';
import { defaultUrl } from './paths.js';

export const DEVICE_TIMEOUT_MS = 500;

interface Lookup {
  opts: ApiOptions;
  /** --points ID: the device whose points are wanted. */
  points: string | undefined;
}

function lookup(argv: string[]): Lookup {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const timeoutMs = Number(process.env['MGW_COMPLETE_TIMEOUT_MS'] ?? DEVICE_TIMEOUT_MS) || DEVICE_TIMEOUT_MS;
  return { opts: { url: opt('--url') ?? defaultUrl(), token: opt('--token') ?? process.env['MGW_TOKEN'], timeoutMs }, points: opt('--points') };
}

export async function deviceIds(argv: string[]): Promise<string[]> {
  try {
    const { devices } = await api<{ devices: { device_id: string }[] }>(lookup(argv).opts, 'GET', 'api/v1/devices');
    return devices.map((d) => d.device_id);
  } catch {
    // No gateway, no answer in time, no permission: simply no device ids to offer.
    return [];
  }
}

/** `speed=`, `running=`: the points of one device that `mgw set` can write. */
export async function writablePoints(argv: string[]): Promise<string[]> {
  const { opts, points: id } = lookup(argv);
  if (id === undefined || id === '') return [];
  try {
    const d = await api<{ points: Record<string, { access: string }> }>(opts, 'GET', `api/v1/devices/${encodeURIComponent(id)}`);
    return Object.entries(d.points)
      .filter(([, p]) => p.access === 'rw')
      .map(([name]) => `${name}=`);
  } catch {
    return [];
  }
}

if (/complete-devices\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  const argv = process.argv.slice(2);
  (argv.includes('--points') ? writablePoints(argv) : deviceIds(argv)).then((words) => {
    if (words.length > 0) process.stdout.write(`${words.join('\n')}\n`);
  });
}
