/**
 * 20,000 generated REST requests (methods, paths, headers, bodies; valid-looking and hostile)
 * against a running gateway with tokens: the process never crashes, every /api answer is JSON
 * that is either a valid answer or a coded error with the matching status, and the registry
 * changes exactly by the writes the gateway accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ERROR_CODES } from '../../src/core/errors.js';
import type { DeviceDiff } from '../../src/core/registry.js';
import { makeTokens, rawRequest, startSecured, type RawResponse, type SecuredGateway, type Tokens } from './fixtures.js';
import { DEVICE_IDS, headerText, restBody, shortFailure } from './hostile.js';

const BATCH = 200;
const RUNS = 100;
const CONCURRENCY = 48;

let gw: SecuredGateway;
let tokens: Tokens;
const controlDiffs: DeviceDiff[] = [];

beforeAll(async () => {
  const t = makeTokens();
  tokens = t.tokens;
  gw = await startSecured({
    auth: { tokens: t.entries, failed_attempts_per_min: 1_000_000 },
    limits: { rest_writes_per_s: 1_000_000, rest_write_burst: 1_000_000 },
    devices: DEVICE_IDS.map((id) => ({ id, driver: 'simulator' as const, model: id.startsWith('motor') ? ('motor' as const) : ('sensor' as const), poll_interval_ms: 3_600_000 })),
  });
  gw.gateway.registry.onDiff((d) => {
    if (d.action === 'device_control') controlDiffs.push(d);
  });
});
afterAll(async () => {
  await gw?.cleanup();
});

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Buffer | undefined;
}

function request(): fc.Arbitrary<Req> {
  const method = fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 3, arbitrary: fc.constant('GET') }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') });
  const segment = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...DEVICE_IDS) },
    { weight: 2, arbitrary: fc.constantFrom('motor_99', '..', '%2e%2e%2fetc', '%00', '%ff%fe', 'motor_01%00', 'a'.repeat(300), '__proto__', 'constructor') },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map((s) => encodeURIComponent(s)) },
  );
  const path = fc.oneof(
    { weight: 8, arbitrary: segment.map((id) => `/api/v1/devices/${id}`) },
    { weight: 1, arbitrary: fc.constantFrom('/api/v1/devices', '/api/v1/whoami', '/api/v1/config', '/api/v1/devices/', '/api/v2/devices', '/api/v1/devices/motor_01/extra', '/healthz', '/readyz') },
    { weight: 1, arbitrary: fc.tuple(segment, fc.constantFrom('?token=x', '?a=1&a=2', '?%zz', '?' + 'q'.repeat(500))).map(([id, q]) => `/api/v1/devices/${id}${q}`) },
  );
  const auth = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom('operator', 'admin', 'viewer').map((r) => `Bearer ${tokens[r as keyof Tokens]}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `bearer ${'x'.repeat(2000)}`, 'Bearer mgw_' + 'A'.repeat(43)) },
    { weight: 1, arbitrary: headerText.map((s) => `Bearer ${s}`) },
    { weight: 1, arbitrary: headerText },
  );
  const origin = fc.oneof(
    { weight: 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constantFrom('null', 'https://evil.example', 'http://127.0.0.1:1', 'file://', 'garbage') },
    { weight: 1, arbitrary: headerText },
  );
  const contentType = fc.oneof(fc.constant('application/json'), fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''), headerText);
  const extra = fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,12}$/), headerText, { maxKeys: 2 });
  return fc.record({ method, path, auth: fc.option(auth, { nil: undefined, freq: 8 }), origin, contentType, extra, body: restBody() }).map(({ method, path, auth, origin, contentType, extra, body }) => {
    const headers: Record<string, string> = { ...extra, 'Content-Type': contentType };
    if (auth !== undefined) headers['Authorization'] = auth;
    if (origin !== undefined) headers['Origin'] = origin;
    return { method, path, headers, body: method === 'GET' || method === 'HEAD' ? undefined : body };
  });
}

const CODES = new Set(Object.keys(ERROR_CODES));

function problem(req: Req, res: RawResponse): string | undefined {
  if (!req.path.startsWith('/api/') && !req.path.startsWith('/healthz') && !req.path.startsWith('/readyz')) return undefined;
  if (req.method === 'HEAD') return undefined;
  if (/\n\s+at |Error: /.test(res.body)) return 'stack trace in the body';
  if (res.json === undefined || res.json === null) return `not JSON: ${res.body.slice(0, 100)}`;
  if (res.status >= 400) {
    const code = res.json.error_code as string;
    if (!CODES.has(code)) return `unknown error_code ${code}`;
    if (code === 'internal_error') return 'internal_error';
    if (ERROR_CODES[code as keyof typeof ERROR_CODES].status !== res.status) return `status ${res.status} does not match ${code}`;
    if (typeof res.json.message !== 'string' || res.json.message === '') return 'error without message';
    return undefined;
  }
  if (res.status !== 200) return `unexpected status ${res.status}`;
  if (req.method === 'POST') {
    if (!DEVICE_IDS.includes(res.json.device_id) || res.json.action !== 'device_control' || typeof res.json.changed !== 'boolean') return 'accepted write without the update shape';
    if (!/^Bearer mgw_/i.test(req.headers['Authorization'] ?? '') || req.headers['Authorization']!.includes(tokens.viewer)) return 'a write was accepted without an operator token';
  }
  return undefined;
}

describe('REST fuzzing', () => {
  it(`answers ${RUNS * BATCH} hostile requests with valid answers or coded errors; only accepted writes change the registry`, async () => {
    const t0 = performance.now();
    let total = 0;
    let accepted = 0;
    let acceptedChanged = 0;
    const statuses: Record<number, number> = {};
    await shortFailure(
      fc.assert(
        fc.asyncProperty(fc.array(request(), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
          const results: RawResponse[] = new Array(batch.length);
          let next = 0;
          const worker = async () => {
            while (next < batch.length) {
              const i = next++;
              const r = batch[i]!;
              results[i] = await rawRequest(gw.port, r.method, r.path, r.headers, r.body).catch((err: Error) => {
                throw new Error(`${err.message} (${(err as NodeJS.ErrnoException).code}, reused ${(err as { reused?: boolean }).reused}): ${r.method} ${r.path.slice(0, 100)} ${JSON.stringify(r.headers).slice(0, 300)} body ${String(r.body).slice(0, 200)}`);
              });
            }
          };
          await Promise.all(Array.from({ length: CONCURRENCY }, worker));
          batch.forEach((r, i) => {
            const res = results[i]!;
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            const why = problem(r, res);
            if (why !== undefined) throw new Error(`${why}: ${r.method} ${r.path.slice(0, 100)} ${JSON.stringify(r.headers).slice(0, 300)} body ${String(r.body).slice(0, 200)} -> ${res.status} ${res.body.slice(0, 300)}`);
            if (r.method === 'POST' && res.status === 200) {
              accepted++;
              if (res.json.changed) acceptedChanged++;
            }
          });
          total += batch.length;
        }),
        { numRuns: RUNS, endOnFailure: true },
      ),
    );
    const ms = performance.now() - t0;
    expect(total).toBe(RUNS * BATCH);
    // Every change of the registry by a control write is one the gateway answered 200 with changed: true.
    expect(controlDiffs).toHaveLength(acceptedChanged);
    expect((await rawRequest(gw.port, 'GET', '/healthz')).status).toBe(200);
    console.log(`rest fuzz: ${total} requests in ${Math.round(ms)} ms (${Math.round(total / (ms / 1000))} req/s); ${accepted} writes accepted (${acceptedChanged} changed state); statuses ${JSON.stringify(statuses)}`);
  }, 180_000);
});
