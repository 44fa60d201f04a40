/**
 * What a reload may change in a running gateway, and what only a restart can.
 *
 * Live: `devices` and the `buses` they sit on (only the drivers whose devices or bus changed are
 * restarted), `health`, and `auth` and `limits` (a revoked token's WebSockets are closed).
 * Everything else (listen address, limits, registry and history sizes, log level, sections
 * added by other parts) is bound when the process starts; a reload keeps the running values and
 * names each changed setting so the operator knows to restart.
 */
import { isDeepStrictEqual } from 'node:util';
import type { GatewayConfig } from './schema.js';

/** Top-level sections a reload applies without a restart. */
export const LIVE_SECTIONS: readonly string[] = ['devices', 'buses', 'health', 'auth', 'limits'];

/** Device fields that name an entry of another section; that entry is part of the device's identity. */
const REFERENCES: readonly { field: string; section: string }[] = [{ field: 'bus', section: 'buses' }];

/** Changed settings that take effect only on restart, as paths (`server.port`, `log.level`). */
export function settingsNeedingRestart(current: GatewayConfig, next: GatewayConfig): string[] {
  const cur = current as unknown as Record<string, unknown>;
  const nxt = next as unknown as Record<string, unknown>;
  const out: string[] = [];
  for (const section of new Set([...Object.keys(cur), ...Object.keys(nxt)])) {
    if (LIVE_SECTIONS.includes(section)) continue;
    const a = cur[section];
    const b = nxt[section];
    if (isDeepStrictEqual(a, b)) continue;
    if (isRecord(a) && isRecord(b)) {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (!isDeepStrictEqual(a[key], b[key])) out.push(`${section}.${key}`);
      }
    } else {
      out.push(section);
    }
  }
  return out.sort();
}

/** The config the gateway runs on after a reload: the new live sections, the running rest. */
export function effectiveConfig(current: GatewayConfig, next: GatewayConfig): GatewayConfig {
  const out = { ...(current as unknown as Record<string, unknown>) };
  const nxt = next as unknown as Record<string, unknown>;
  for (const section of LIVE_SECTIONS) if (section in nxt) out[section] = nxt[section];
  return out as unknown as GatewayConfig;
}

/**
 * A driver's identity for reloads: the config entries of the devices it owns, in order, each with
 * the entries it refers to (its Modbus bus). Equal fingerprints mean the running driver can stay.
 */
export function driverFingerprint(config: GatewayConfig, deviceIds: readonly string[]): string {
  const cfg = config as unknown as Record<string, unknown>;
  const byId = new Map(config.devices.map((d) => [d.id, d as unknown as Record<string, unknown>]));
  return JSON.stringify(
    deviceIds.map((id) => {
      const device = byId.get(id);
      if (device === undefined) return null;
      const refs: Record<string, unknown> = {};
      for (const { field, section } of REFERENCES) {
        const list = cfg[section];
        if (typeof device[field] === 'string' && Array.isArray(list)) refs[section] = list.find((e) => isRecord(e) && e['id'] === device[field]) ?? null;
      }
      return { device, refs };
    }),
  );
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
