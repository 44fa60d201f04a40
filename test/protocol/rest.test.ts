/**
 * The one REST round trip the client, the CLI and the HMI share, against a real HTTP server:
 * what it sends, and each way an answer can go wrong.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restRequest } from '../../src/protocol/rest.js';

let server: Server;
let base: string;
const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (req.url === '/prefix/api/ok') return res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"a":1}');
      if (req.url === '/prefix/api/err') return res.writeHead(422, 'Unprocessable').end('{"error_code":"validation_error","message":"m.x: too big","point":"x"}');
      if (req.url === '/prefix/api/bare') return res.writeHead(502, 'Bad Gateway').end('');
      if (req.url === '/prefix/api/html') return res.writeHead(200).end('<html>');
      // /prefix/api/slow: never answers
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
});
afterAll(() => {
  server.closeAllConnections();
  return new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('restRequest', () => {
  it('sends JSON with the token under the base path and returns the JSON and the Date header', async () => {
    const r = await restRequest<{ a: number }>({ method: 'POST', path: 'api/ok', base, body: { speed: 1 }, token: 't0k' });
    expect(r).toMatchObject({ kind: 'ok', status: 200, json: { a: 1 } });
    expect(r.kind === 'ok' && Date.parse(r.date ?? '')).toBeGreaterThan(0);
    const req = seen.at(-1)!;
    expect(req).toMatchObject({ method: 'POST', url: '/prefix/api/ok', body: '{"speed":1}' });
    expect(req.headers).toMatchObject({ authorization: 'Bearer t0k', 'content-type': 'application/json', accept: 'application/json' });
  });

  it('takes the gateway error apart: code, message, the other fields as details', async () => {
    expect(await restRequest({ method: 'GET', path: 'api/err', base })).toMatchObject({
      kind: 'error',
      status: 422,
      code: 'validation_error',
      message: 'm.x: too big',
      details: { point: 'x' },
    });
    expect(await restRequest({ method: 'GET', path: 'api/bare', base })).toMatchObject({ kind: 'error', status: 502, code: 'http_502', message: undefined, statusText: 'Bad Gateway' });
  });

  it('says when the answer is not JSON, when none comes in time and when nobody listens', async () => {
    expect(await restRequest({ method: 'GET', path: 'api/html', base })).toMatchObject({ kind: 'not_json', status: 200 });
    expect(await restRequest({ method: 'GET', path: 'api/slow', base, timeoutMs: 50 })).toMatchObject({ kind: 'network', timedOut: true });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await restRequest({ method: 'GET', path: 'x', base: `http://127.0.0.1:${port}` })).toMatchObject({ kind: 'network', timedOut: false });
  });
});
