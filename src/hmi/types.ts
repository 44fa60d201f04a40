/**
 * The API shapes the page reads: the device shapes come from the protocol module; the history
 * and caller shapes, which the client does not wrap, are declared here.
 */
import type { DeviceView, PointMeta, PointValue, Quality } from '../protocol/wire.js';

export type { DeviceView, PointMeta, PointValue, Quality };

export interface HistoryReply {
  device_id: string;
  /** The gateway's clock when it answered, seconds since the epoch. */
  now: number;
  since: number;
  window_s: number;
  points: Record<string, { unit: string | null; t: number[]; v: number[] }>;
}

/** GET /api/v1/history?devices=a,b&since=...: the in-memory window of many devices at once. */
export interface HistoryBatchReply {
  now: number;
  since: number;
  window_s: number;
  devices: Record<string, { points: HistoryReply['points'] }>;
}

/** GET /api/v1/devices/{id}/history with from/to and max_points: an answer from the history store. */
export interface StoreHistoryReply {
  device_id: string;
  now: number;
  from: number;
  to: number;
  resolution: 'raw' | '1m' | '1h';
  /** null: raw samples; else the width of each bucket (v is then the mean). */
  bucket_s: number | null;
  points: Record<string, { unit: string | null; t: number[]; v: (number | null)[]; min?: (number | null)[]; max?: (number | null)[]; n?: number[]; q?: string[] }>;
}

/** GET /api/v1/whoami: who the page is to the gateway. */
export interface WhoAmI {
  token: string;
  role: 'viewer' | 'operator' | 'admin';
  anonymous: boolean;
  auth_required: boolean;
  /** How times of day are shown (the gateway's server.hmi_time_format); absent from an older gateway. */
  time_format?: '24h' | '12h';
}

export type { DeviceAuditEntry as AuditEntry, DeviceAuditReply as AuditReply } from '../protocol/audit.js';

/** Roles that may read the audit trail (the gateway checks too). */
export function mayAudit(who: WhoAmI): boolean {
  return who.role === 'operator' || who.role === 'admin';
}

export function isNumeric(meta: PointMeta | undefined): boolean {
  return meta !== undefined && (meta.type === 'number' || meta.type === 'integer');
}

/** Roles that may write points (PROTOCOL.md: control needs operator or admin). */
export function mayWrite(who: WhoAmI): boolean {
  return who.role === 'operator' || who.role === 'admin';
}
