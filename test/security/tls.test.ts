/**
 * Optional TLS: HTTPS and WSS on a uWS SSLApp with a self-signed certificate made here by
 * openssl, and clear start-up errors for missing or wrong files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import WebSocket from 'ws';
import { peers } from '../helpers/peers.js';
import { bearer, makeTokens, rawRequest, startSecured, type SecuredGateway } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'mgw-tls-'));
const cert = join(dir, 'cert.pem');
const key = join(dir, 'key.pem');
let ca: Buffer;
let gw: SecuredGateway;
const t = makeTokens();

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port, path, headers, ca, servername: 'localhost' }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      })
      .on('error', reject);
  });
}

describe.skipIf(!peers('openssl'))('TLS', () => {
  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
    ca = Buffer.from(execFileSync('cat', [cert]));
    gw = await startSecured({ server: { tls: { cert_file: cert, key_file: key } }, auth: { tokens: t.entries } });
  });
  afterAll(async () => {
    await gw?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the REST API over HTTPS with the same token rules', async () => {
    expect((await get(gw.port, '/api/v1/devices', bearer(t.tokens.viewer))).status).toBe(200);
    expect((await get(gw.port, '/api/v1/devices')).status).toBe(401);
  });

  it('serves the WebSocket over WSS', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${gw.port}/ws/devices`, { ca, servername: 'localhost', headers: bearer(t.tokens.viewer) });
    const hello = await new Promise<any>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.once('error', reject);
    });
    expect(hello).toMatchObject({ type: 'connection_established' });
    ws.close();
  });

  it('refuses a certificate the client does not trust, and plain HTTP on the TLS port', async () => {
    await expect(
      new Promise((resolve, reject) => https.get({ host: '127.0.0.1', port: gw.port, path: '/healthz' }, resolve).on('error', reject)),
    ).rejects.toThrow(/self-signed|certificate/);
    await expect(rawRequest(gw.port, 'GET', '/healthz', {}, undefined, { agent: false })).rejects.toThrow();
  });

  it('says which file is missing or wrong at start', async () => {
    await expect(startSecured({ server: { tls: { cert_file: join(dir, 'nope.pem'), key_file: key } } })).rejects.toThrow(/server\.tls\.cert_file: cannot read .*nope\.pem: no such file/);
    const notPem = join(dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    await expect(startSecured({ server: { tls: { cert_file: cert, key_file: notPem } } })).rejects.toThrow(/server\.tls\.key_file: .*not a PEM file/);
    const otherKey = join(dir, 'other.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', otherKey], { stdio: 'ignore' });
    await expect(startSecured({ server: { tls: { cert_file: cert, key_file: otherKey } } })).rejects.toThrow(/server\.tls.*(do not match|does not match)/);
  });
});
