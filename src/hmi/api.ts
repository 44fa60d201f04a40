/**
 * The REST calls the typed client does not wrap: who the caller is, and point history.
 * Failures become ApiError with the gateway's own message, ready to show.
 */
import type { HistoryReply, StoreHistoryReply, WhoAmI } from './types.js';

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

  /** A range from the history store, bucketed to about `maxPoints` per point. */
  historyRange(deviceId: string, points: string[], from: number, to: number, maxPoints: number): Promise<StoreHistoryReply> {
    const q = new URLSearchParams({ from: from.toFixed(3), to: to.toFixed(3), points: points.join(','), max_points: String(maxPoints) });
    return this.get<StoreHistoryReply>(`/api/v1/devices/${encodeURIComponent(deviceId)}/history?${q.toString()}`);
  }

  private async get<T>(path: string): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await fetch(path, { headers, cache: 'no-store' });
    } catch {
      throw new ApiError('network_error', 'The gateway does not answer (network down or gateway restarting).', 0);
    }
    const text = await res.text();
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      // not JSON: reported below with the status
    }
    if (!res.ok) {
      const e = json as { error_code?: string; message?: string } | null;
      throw new ApiError(e?.error_code ?? `http_${res.status}`, e?.message ?? `The gateway answered ${res.status} ${res.statusText}.`, res.status);
    }
    return json as T;
  }
}
