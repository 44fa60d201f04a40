/**
 * The CLI's REST calls, with errors a technician can act on and the exit status they map to
 * (src/protocol/errors.ts: the same table the server answers from).
 */
import { exitForCode } from '../protocol/errors.js';
import { networkReason, restRequest } from '../protocol/rest.js';
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
  const r = await restRequest<T>({ method, path, base: opts.url, body, token: opts.token, timeoutMs: opts.timeoutMs ?? 10_000 });
  switch (r.kind) {
    case 'network':
      throw new CliError(
        `cannot reach the gateway at ${opts.url}: ${r.timedOut ? 'no answer in time' : networkReason(r.cause)} (is \`mgw serve\` running? see --url)`,
        EXIT.unavailable,
      );
    case 'not_json':
      throw new CliError(`${opts.url} answered ${r.status} with something that is not JSON: is it a machine-gateway?`, EXIT.unavailable);
    case 'error':
      throw new CliError(`${r.code}: ${r.message ?? r.statusText}`, exitForCode(r.code));
    case 'ok':
      if (meta) meta.serverDateMs = Date.parse(r.date ?? '') || undefined;
      return r.json;
  }
}
