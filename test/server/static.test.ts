import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pino from 'pino';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { StaticSite } from '../../src/server/static.js';
import { uws } from '../../src/server/uws.js';
import { buildPage } from '../e2e/browser.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A raw GET (node:http, no automatic decompression), so the test sees the bytes on the wire. */
function get(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the HMI page is served', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    buildPage();
    gw = await startGateway({ log: { level: 'warn' } });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  test('at / as HTML that is revalidated every time (ETag, 304 when unchanged)', async () => {
    const r = await get(`${gw.url}/`);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['content-security-policy']).toMatch(/default-src 'self'/);
    const etag = r.headers['etag'] as string;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect(r.body.toString()).toMatch(/<script type="module" src="\/hmi\/[0-9a-f]{12}\/hmi\/main\.js">/);
    const again = await get(`${gw.url}/`, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect((await get(`${gw.url}/`, { 'if-none-match': '"other"' })).status).toBe(200);
  });

  test('gzipped for clients that accept it, from bytes compressed once', async () => {
    const plain = await get(`${gw.url}/`);
    const zipped = await get(`${gw.url}/`, { 'accept-encoding': 'gzip, deflate' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['vary']).toBe('Accept-Encoding');
    expect(zipped.body.length).toBeLessThan(plain.body.length);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
  });

  test('every script, style and icon the page names, with its content type and cached for good', async () => {
    const html = (await get(`${gw.url}/`)).body.toString();
    const refs = [...html.matchAll(/(?:href|src)="(\/hmi\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(5);
    const types: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml', png: 'image/png', webmanifest: 'application/manifest+json' };
    for (const ref of new Set(refs)) {
      const r = await get(`${gw.url}${ref}`, { 'accept-encoding': 'gzip' });
      expect({ ref, status: r.status }).toEqual({ ref, status: 200 });
      expect(r.headers['content-type']).toBe(types[ref.split('.').pop()!]);
      expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    // The page is a few small files: the whole of it, compressed (cards, device page, alarms,
    // themes, the overview of a hundred devices and its batched history: about 77 KB).
    let total = 0;
    for (const ref of new Set(refs)) total += (await get(`${gw.url}${ref}`, { 'accept-encoding': 'gzip' })).body.length;
    expect(total).toBeLessThan(80 * 1024);
  });

  test('unknown paths are 404, and API paths keep answering JSON', async () => {
    for (const path of ['/nope.html', '/hmi/000000000000/hmi/main.js', '/index.htm', '/api/v1/nothing']) {
      const r = await get(`${gw.url}${path}`);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(r.body.toString()).error_code).toBe('not_found');
    }
    const api = await get(`${gw.url}/api/v1/devices`);
    expect(api.status).toBe(200);
    expect(api.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  test('a gateway whose page was not built says so at / instead of failing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'mgw-hmi-'));
    const app = uws().App();
    new StaticSite({ log: pino({ level: 'silent' }), scriptDir: empty }).register(app);
    const socket = await new Promise<unknown>((resolve) => app.listen('127.0.0.1', 0, resolve));
    try {
      const port = uws().us_socket_local_port(socket as never);
      const r = await get(`http://127.0.0.1:${port}/`);
      expect(r.status).toBe(503);
      expect(r.body.toString()).toMatch(/The HMI page is not built .* Run `npm run build`/);
    } finally {
      uws().us_listen_socket_close(socket as never);
      rmSync(empty, { recursive: true });
    }
  });
});
