/**
 * The REST half of the client: list, get and control, each failing with a GatewayClientError
 * that carries the API's error_code and the HTTP status.
 */
import { GatewayClientError } from './errors.js';
import type { ControlResult, DeviceView, PointValue } from './types.js';

export type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  text(): Promise<string>;
}>;

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
    const url = new URL(path, this.base).toString();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.options.token) headers['Authorization'] = `Bearer ${this.options.token}`;
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const where = deviceId === undefined ? {} : { deviceId };
    let res: Awaited<ReturnType<FetchLike>>;
    let text: string;
    try {
      res = await this.fetchImpl(url, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: controller.signal });
      text = await res.text();
    } catch (err) {
      if (controller.signal.aborted) {
        throw new GatewayClientError('timeout', `${method} ${url}: no answer within ${timeoutMs} ms`, { ...where, cause: err });
      }
      throw new GatewayClientError('network_error', `cannot reach the gateway at ${this.options.url}: ${reason(err)}`, { ...where, cause: err });
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      throw new GatewayClientError('bad_response', `${url} answered ${res.status} with something that is not JSON: is it a machine-gateway?`, {
        status: res.status,
        ...where,
      });
    }
    if (!res.ok) {
      const { error_code, message, ...details } = (typeof json === 'object' && json !== null ? json : {}) as { error_code?: unknown; message?: unknown } & Record<string, unknown>;
      const code = typeof error_code === 'string' ? error_code : `http_${res.status}`;
      const text = typeof message === 'string' ? message : res.statusText;
      throw new GatewayClientError(code, text, { status: res.status, details, ...where });
    }
    return json as T;
  }
}

function reason(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'unknown host';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  return e.cause?.message ?? e.message ?? String(err);
}
