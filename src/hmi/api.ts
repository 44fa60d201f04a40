/**
 * The REST calls the typed client does not wrap: who the caller is, and point history.
 * Failures become ApiError with the gateway's own message, ready to show.
 */
import { restRequest } from '../protocol/rest.js';
import type { AuditReply, HistoryBatchReply, HistoryReply, StoreHistoryReply, WhoAmI } from './types.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class Api {
  constructor(private readonly token: string | null) {}

  whoami(): Promise<WhoAmI> {
    return this.get<WhoAmI>('/api/v1/whoami');
  }

  /** The last `backS` seconds of every numeric point of a device. */
  history(deviceId: string, backS: number): Promise<HistoryReply> {
    return this.get<HistoryReply>(`/api/v1/devices/${encodeURIComponent(deviceId)}/history?since=${-Math.abs(backS)}`);
  }

  /**
   * The in-memory window of many devices in one request: `since` is epoch seconds, or negative
   * seconds back from the gateway's clock.
   */
  historyBatch(deviceIds: string[], since: number): Promise<HistoryBatchReply> {
    return this.get<HistoryBatchReply>(`/api/v1/history?devices=${deviceIds.map(encodeURIComponent).join(',')}&since=${since}`);
  }

  /** A range from the history store, bucketed to about `maxPoints` per point. */
  historyRange(deviceId: string, points: string[], from: number, to: number, maxPoints: number): Promise<StoreHistoryReply> {
    const q = new URLSearchParams({ from: from.toFixed(3), to: to.toFixed(3), points: points.join(','), max_points: String(maxPoints) });
    return this.get<StoreHistoryReply>(`/api/v1/devices/${encodeURIComponent(deviceId)}/history?${q.toString()}`);
  }

  /** The newest `limit` entries of the device's audit trail, newest first (operator, admin). */
  audit(deviceId: string, limit: number): Promise<AuditReply> {
    return this.get<AuditReply>(`/api/v1/devices/${encodeURIComponent(deviceId)}/audit?limit=${limit}`);
  }

  private async get<T>(path: string): Promise<T> {
    const r = await restRequest<T>({ method: 'GET', path, token: this.token, noStore: true });
    switch (r.kind) {
      case 'ok':
        return r.json;
      case 'network':
        throw new ApiError('network_error', 'The gateway does not answer (network down or gateway restarting).', 0);
      case 'not_json':
        // An answer that is not JSON: nothing to show but its status.
        if (r.status >= 200 && r.status < 300) return null as T;
        throw new ApiError(`http_${r.status}`, `The gateway answered ${r.status} ${r.statusText}.`, r.status);
      case 'error':
        throw new ApiError(r.code, r.message ?? `The gateway answered ${r.status} ${r.statusText}.`, r.status);
    }
  }
}
