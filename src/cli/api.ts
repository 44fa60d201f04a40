/**
 * The CLI's REST calls, with errors a technician can act on and the exit status they map to
 * (src/protocol/errors.ts: the same table the server answers from).
 */
import { exitForCode } from '../protocol/errors.js';
import { CliError, EXIT } from './exit.js';

export interface ApiOptions {
  url: string;
  token?: string | undefined;
  timeoutMs?: number;
}

/** Filled in by api() when given: the gateway's clock from the Date header of its answer. */
export interface ApiMeta {
  /** ms since the epoch, 1 s resolution; undefined when the answer had no usable Date header. */
  serverDateMs?: number | undefined;
}

export async function api<T>(opts: ApiOptions, method: 'GET' | 'POST', path: string, body?: unknown, meta?: ApiMeta): Promise<T> {
  const url = new URL(path, opts.url.endsWith('/') ? opts.url : `${opts.url}/`);
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (err) {
    throw new CliError(`cannot reach the gateway at ${opts.url}: ${networkReason(err)} (is \`mgw serve\` running? see --url)`, EXIT.unavailable);
  }
  if (meta) meta.serverDateMs = Date.parse(res.headers.get('date') ?? '') || undefined;
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    throw new CliError(`${opts.url} answered ${res.status} with something that is not JSON: is it a machine-gateway?`, EXIT.unavailable);
  }
  if (!res.ok) {
    const e = (json ?? {}) as { error_code?: string; message?: string };
    const code = e.error_code ?? `http_${res.status}`;
    throw new CliError(`${code}: ${e.message ?? res.statusText}`, exitForCode(code));
  }
  return json as T;
}

function networkReason(err: unknown): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'no answer in time';
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'unknown host';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  return e.cause?.message ?? String(err);
}
