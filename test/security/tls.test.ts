/**
 * Optional TLS: HTTPS and WSS on a uWS SSLApp with a self-signed certificate made here by
 * openssl, and clear start-up errors for missing or wrong files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** `openssl s_client` with the given options: the negotiated protocol and cipher, or null when refused. */
function handshake(port: number, ...args: string[]): Promise<{ protocol: string; cipher: string; serial: string } | null> {
  return new Promise((resolve) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', ...args], { timeout: 10_000 }, (_err, stdout) => {
      const m = /^New, (\S+), Cipher is (\S+)$/m.exec(stdout);
      if (m === null || m[2] === '(NONE)') return resolve(null);
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(stdout)?.[0] ?? '';
      const serial = pem === '' ? '' : execFileSync('openssl', ['x509', '-noout', '-serial'], { input: pem }).toString().trim();
      resolve({ protocol: m[1]!, cipher: m[2]!, serial });
    });
    child.stdin?.end();
  });
}

function makeCert(certFile: string, keyFile: string, alg: 'rsa' | 'ec' = 'rsa'): void {
  const keyArgs = alg === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  execFileSync('openssl', ['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  chmodSync(keyFile, 0o600);
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

  it('accepts TLS 1.2 and 1.3 with forward-secret suites only, and refuses TLS 1.1 and RSA key exchange', async () => {
    expect(await handshake(gw.port, '-tls1_3')).toMatchObject({ protocol: 'TLSv1.3' });
    expect(await handshake(gw.port, '-tls1_2', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256')).toMatchObject({ protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256' });
    expect(await handshake(gw.port, '-tls1_2', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305')).toMatchObject({ cipher: 'ECDHE-RSA-CHACHA20-POLY1305' });
    for (const cipher of ['AES128-SHA', 'AES256-GCM-SHA384', 'AES128-SHA256', 'ECDHE-RSA-AES128-SHA']) expect(await handshake(gw.port, '-tls1_2', '-cipher', cipher), cipher).toBeNull();
    expect(await handshake(gw.port, '-tls1_1', '-cipher', 'ALL:@SECLEVEL=0')).toBeNull();
  });

  it('with min_version 1.3 refuses TLS 1.2, for an RSA and for an EC key', async () => {
    for (const alg of ['rsa', 'ec'] as const) {
      const c = join(dir, `${alg}13-cert.pem`);
      const k = join(dir, `${alg}13-key.pem`);
      makeCert(c, k, alg);
      const strict = await startSecured({ server: { tls: { cert_file: c, key_file: k, min_version: '1.3' } } });
      try {
        expect(await handshake(strict.port, '-tls1_3'), alg).toMatchObject({ protocol: 'TLSv1.3' });
        expect(await handshake(strict.port, '-tls1_2'), alg).toBeNull();
      } finally {
        await strict.cleanup();
      }
    }
  });

  it('warns about a key file every user may read, and refuses it with refuse_readable_key', async () => {
    const c = join(dir, 'open-cert.pem');
    const k = join(dir, 'open-key.pem');
    makeCert(c, k);
    chmodSync(k, 0o644);
    const warned = await startSecured({ log: { level: 'warn' }, server: { tls: { cert_file: c, key_file: k } } });
    try {
      expect(warned.logs.map((l) => l.msg).join('\n')).toMatch(/open-key\.pem is readable by every user \(mode 0644\); chmod o-r/);
    } finally {
      await warned.cleanup();
    }
    await expect(startSecured({ server: { tls: { cert_file: c, key_file: k, refuse_readable_key: true } } })).rejects.toThrow(/readable by every user .*refused because server\.tls\.refuse_readable_key is true/);
  });
});
