#!/usr/bin/env node
/**
 * Device ids of the running gateway, one per line, for shell completion. A separate entry point
 * so that Tab does not pay for loading the whole CLI (the daemon, serial and Modbus stacks):
 * this file needs only the REST helper. Silent on every failure, and gives up after a short
 * timeout (MGW_COMPLETE_TIMEOUT_MS, default 500 ms) so a stopped gateway never makes the shell hang.
 *
 * Usage: complete-devices.js [--url URL] [--token TOKEN]   (defaults: MGW_URL, MGW_TOKEN)
 */
import { api } from './api.js';
import { defaultUrl } from './paths.js';

export const DEVICE_TIMEOUT_MS = 500;

export async function deviceIds(argv: string[]): Promise<string[]> {
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const timeoutMs = Number(process.env['MGW_COMPLETE_TIMEOUT_MS'] ?? DEVICE_TIMEOUT_MS) || DEVICE_TIMEOUT_MS;
  try {
    const { devices } = await api<{ devices: { device_id: string }[] }>(
      { url: opt('--url') ?? defaultUrl(), token: opt('--token') ?? process.env['MGW_TOKEN'], timeoutMs },
      'GET',
      'api/v1/devices',
    );
    return devices.map((d) => d.device_id);
  } catch {
    // No gateway, no answer in time, no permission: simply no device ids to offer.
    return [];
  }
}

if (/complete-devices\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  deviceIds(process.argv.slice(2)).then((ids) => {
    if (ids.length > 0) process.stdout.write(`${ids.join('\n')}\n`);
  });
}
