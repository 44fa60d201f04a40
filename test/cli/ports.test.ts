/**
 * `mgw ports` on this machine: whatever serial ports it has, every /dev/serial/by-id link
 * shows up next to the device it points to.
 */
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peers } from '../helpers/peers.js';
import { mgw } from './helpers.js';

describe.skipIf(!peers('udevadm'))('mgw ports', () => {
  it('--json lists ports with their by-id names and USB ids', async () => {
    const r = await mgw(['--json', 'ports']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ports = JSON.parse(r.stdout) as { path: string; by_id: string[]; vendor_id: string | null; product_id: string | null }[];
    expect(Array.isArray(ports)).toBe(true);
    for (const p of ports) {
      expect(p.path).toMatch(/^\/dev\//);
      if (p.vendor_id !== null) expect(p.vendor_id).toMatch(/^[0-9a-f]{4}$/);
    }
    const byId = '/dev/serial/by-id';
    if (existsSync(byId)) {
      for (const name of readdirSync(byId)) {
        const link = join(byId, name);
        expect(ports.find((p) => p.path === realpathSync(link))?.by_id).toContain(link);
      }
    }
  });

  it('prints a table, or says there is none and where to look', async () => {
    const r = await mgw(['ports']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^(PORT\s+BY-ID \(use this in the configuration\)\s+USB\s+ADAPTER\n|no serial ports found)/);
  });
});
