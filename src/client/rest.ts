/**
 * The REST half of the client: list, get and control, each failing with a GatewayClientError
 * that carries the API's error_code and the HTTP status.
 */
import { GatewayClientError } from './errors.js';
import { networkReason, restRequest, type FetchLike } from '../protocol/rest.js';
import type { ControlResult, DeviceView, PointValue } from './types.js';

export type { FetchLike };

export interface RestClientOptions {
  /** The gateway's base address, e.g. `http://127.0.0.1:8000` (a path prefix is kept). */
  url: string;
  /** API token, sent as `Authorization: Bearer`. */
  token?: string | undefined;
  /** Defaults to globalThis.fetch. */
  fetch?: FetchLike | undefined;
  /** How long one request may take (ms; default 10000). */
  timeoutMs?: number | undefined;
}

export class RestClient {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;

  constructor(private readonly options: RestClientOptions) {
    this.base = options.url.endsWith('/') ? options.url : `${options.url}/`;
    const f = options.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (f === undefined) throw new GatewayClientError('no_fetch', 'no fetch() in this runtime: pass the `fetch` option');
    // Called through a closure: browsers refuse fetch() invoked as a method of another object.
    this.fetchImpl = (input, init) => f(input, init);
  }

  /** All devices with their state. */
  async list(): Promise<DeviceView[]> {
    const body = await this.call<{ devices: DeviceView[] }>('GET', 'api/v1/devices');
    return body.devices;
  }

  /** One device; `device_not_found` (404) when there is none. */
  get(deviceId: string): Promise<DeviceView> {
    return this.call<DeviceView>('GET', `api/v1/devices/${encodeURIComponent(deviceId)}`, undefined, deviceId);
  }

  /** Writes points and resolves once the device confirmed them (read-back). */
  control(deviceId: string, values: Record<string, PointValue>): Promise<ControlResult> {
    return this.call<ControlResult>('POST', `api/v1/devices/${encodeURIComponent(deviceId)}`, values, deviceId);
  }

  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, deviceId?: string): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const r = await restRequest<T>({ method, path, base: this.base, body, token: this.options.token, timeoutMs, fetch: this.fetchImpl });
    const where = deviceId === undefined ? {} : { deviceId };
    switch (r.kind) {
      case 'ok':
        return r.json;
      case 'network':
        if (r.timedOut) throw new GatewayClientError('timeout', `${method} ${r.url}: no answer within ${timeoutMs} ms`, { ...where, cause: r.cause });
        throw new GatewayClientError('network_error', `cannot reach the gateway at ${this.options.url}: ${networkReason(r.cause)}`, { ...where, cause: r.cause });
      case 'not_json':
        throw new GatewayClientError('bad_response', `${r.url} answered ${r.status} with something that is not JSON: is it a machine-gateway?`, {
          status: r.status,
          ...where,
        });
      case 'error':
        throw new GatewayClientError(r.code, r.message ?? r.statusText, { status: r.status, details: r.details, ...where });
    }
  }
}
