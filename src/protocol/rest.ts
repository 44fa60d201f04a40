/**
 * One REST round trip to the gateway, for the typed client, the CLI and the HMI alike: the URL,
 * the token, JSON in and out, a timeout, and the gateway's `{error_code, message}` taken apart.
 * It throws nothing: each caller words the failure for its reader (an exception with a code, a
 * CLI line with an exit status, a banner on the page). Browser-safe.
 */

/** The part of fetch() this needs, so a caller can pass its own (tests, old runtimes). */
export type FetchLike = (
  input: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal; cache?: 'no-store' },
) => Promise<{
  ok: boolean;
  status: number;
  statusText: string;
  headers?: { get(name: string): string | null };
  text(): Promise<string>;
}>;

export interface RestRequest {
  method: 'GET' | 'POST';
  /** Resolved against `base` when given (a path prefix in it is kept), else used as it is (the page's own origin). */
  path: string;
  base?: string | undefined;
  body?: unknown;
  token?: string | null | undefined;
  /** No timeout when absent. */
  timeoutMs?: number | undefined;
  /** Ask the browser not to answer from its cache. */
  noStore?: boolean;
  fetch?: FetchLike | undefined;
}

export type RestReply<T> =
  | { kind: 'ok'; status: number; json: T; date: string | null }
  /** No answer: the network failed, or (timedOut) none came in time. */
  | { kind: 'network'; url: string; cause: unknown; timedOut: boolean }
  | { kind: 'not_json'; url: string; status: number; statusText: string }
  | { kind: 'error'; url: string; status: number; statusText: string; code: string; message: string | undefined; details: Record<string, unknown> };

export async function restRequest<T>(req: RestRequest): Promise<RestReply<T>> {
  const url = req.base === undefined ? req.path : new URL(req.path, req.base.endsWith('/') ? req.base : `${req.base}/`).toString();
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (req.body !== undefined) headers['Content-Type'] = 'application/json';
  if (req.token) headers['Authorization'] = `Bearer ${req.token}`;
  const f = req.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const controller = new AbortController();
  const timer = req.timeoutMs === undefined ? undefined : setTimeout(() => controller.abort(), req.timeoutMs);
  let res: Awaited<ReturnType<FetchLike>>;
  let text: string;
  try {
    res = await f(url, {
      method: req.method,
      headers,
      ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
      signal: controller.signal,
      ...(req.noStore ? { cache: 'no-store' as const } : {}),
    });
    text = await res.text();
  } catch (cause) {
    return { kind: 'network', url, cause, timedOut: controller.signal.aborted };
  } finally {
    clearTimeout(timer);
  }
  let json: unknown;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    return { kind: 'not_json', url, status: res.status, statusText: res.statusText };
  }
  if (!res.ok) {
    const { error_code, message, ...details } = (typeof json === 'object' && json !== null ? json : {}) as { error_code?: unknown; message?: unknown } & Record<string, unknown>;
    return {
      kind: 'error',
      url,
      status: res.status,
      statusText: res.statusText,
      code: typeof error_code === 'string' ? error_code : `http_${res.status}`,
      message: typeof message === 'string' ? message : undefined,
      details,
    };
  }
  return { kind: 'ok', status: res.status, json: json as T, date: res.headers?.get('date') ?? null };
}

/** Why a request got no answer, in a few words (Node's fetch hides the socket error in `cause`). */
export function networkReason(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND') return 'unknown host';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'host unreachable';
  return e.cause?.message ?? e.message ?? String(err);
}
