/**
 * Optional HTTPS/WSS: the same routes on a uWS SSLApp. The files are checked before uWS sees
 * them, because uWS answers a missing or unreadable file with a bare listen failure.
 *
 * Policy, as a plant's IT department asks for it: TLS 1.2 at least (uWS refuses older versions
 * itself), forward-secret suites only (ECDHE with AES-GCM or ChaCha20) unless `ciphers` says
 * otherwise, and a warning, or a refusal with `refuse_readable_key`, for a key file that other
 * users may read.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import * as v from 'valibot';
import type { TemplatedApp } from 'uWebSockets.js';
import { text } from '../config/fields.js';
import type { uws } from './uws.js';
import { isoTime } from '../core/time.js';

/** Forward-secret TLS 1.2 suites only: ECDHE key exchange with an AEAD cipher. */
export const FORWARD_SECRET = 'ECDHE+AESGCM:ECDHE+CHACHA20';

export const TlsSchema = v.strictObject(
  {
    cert_file: text('PEM certificate (chain) for HTTPS and WSS, e.g. /etc/machine-gateway/tls/cert.pem.'),
    key_file: text('PEM private key of the certificate; readable by the gateway user only.'),
    passphrase: v.optional(text('Passphrase of an encrypted key file.')),
    min_version: v.optional(
      v.pipe(v.picklist(['1.2', '1.3'], 'must be "1.2" or "1.3"'), v.description('Oldest TLS version accepted. Default "1.2"; "1.3" refuses TLS 1.2 clients.')),
      '1.2',
    ),
    ciphers: v.optional(
      v.pipe(
        v.string('must be an OpenSSL cipher list'),
        v.regex(/^[A-Za-z0-9+\-:!@=_.]{1,2000}$/, 'must be an OpenSSL cipher list such as ECDHE+AESGCM:ECDHE+CHACHA20'),
        v.description('TLS 1.2 suites (OpenSSL cipher list). Default: forward-secret only, ECDHE+AESGCM:ECDHE+CHACHA20. TLS 1.3 suites are all forward-secret.'),
      ),
      FORWARD_SECRET,
    ),
    refuse_readable_key: v.optional(
      v.pipe(v.boolean('must be true or false'), v.description('true: refuse to start (and to reload the certificate) while other users may read key_file; false (default): a warning.')),
      false,
    ),
  },
  'unknown setting',
);

export type TlsConfig = v.InferOutput<typeof TlsSchema>;

/**
 * Plain App without TLS config; SSLApp with it, after checking that both files are readable PEM
 * that fit together and that the key is not readable by others.
 */
export function createApp(lib: ReturnType<typeof uws>, tls: TlsConfig | undefined, log?: Logger): TemplatedApp {
  if (tls === undefined) return lib.App();
  const passphrase = checkTlsFiles(tls, log);
  try {
    return lib.SSLApp({ cert_file_name: tls.cert_file, key_file_name: tls.key_file, ...passphrase, ssl_ciphers: cipherList(tls) });
  } catch (err) {
    throw new Error(`server.tls.ciphers: OpenSSL accepts none of ${JSON.stringify(tls.ciphers)} (${(err as Error).message})`);
  }
}

/**
 * Throws, naming the setting, unless both files are readable PEM that fit together (and the key
 * is not readable by others with refuse_readable_key); returns the passphrase option for uWS.
 */
export function checkTlsFiles(tls: TlsConfig, log?: Logger): { passphrase?: string } {
  checkPem(tls.cert_file, 'server.tls.cert_file', /-----BEGIN CERTIFICATE-----/);
  checkPem(tls.key_file, 'server.tls.key_file', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  checkKeyMode(tls, log);
  const passphrase = tls.passphrase === undefined ? {} : { passphrase: tls.passphrase };
  // uWS reports a key that does not fit the certificate only as "App construction failed".
  try {
    // node:tls only here: a gateway without TLS does not load it (~9 ms of its start).
    const { createSecureContext } = createRequire(import.meta.url)('node:tls') as typeof import('node:tls');
    createSecureContext({ cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file), ...passphrase });
  } catch (err) {
    throw new Error(`server.tls: the certificate and key do not match, or the key's passphrase is wrong (${(err as Error).message})`);
  }
  return passphrase;
}

/**
 * The TLS 1.2 cipher list uWS is given. uWS has no setting for the minimum version beyond its own
 * 1.2, so 1.3 is had by allowing TLS 1.2 only a suite this key cannot sign (ECDSA for an RSA
 * key, RSA for any other): no TLS 1.2 handshake can succeed, and TLS 1.3 keeps its own suites.
 */
export function cipherList(tls: TlsConfig): string {
  if (tls.min_version === '1.2') return tls.ciphers;
  const key = createPrivateKey({ key: readFileSync(tls.key_file), ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }) });
  return key.asymmetricKeyType === 'rsa' ? 'ECDHE-ECDSA-AES256-GCM-SHA384' : 'ECDHE-RSA-AES256-GCM-SHA384';
}

/** A private key that other users can read is as good as published on a shared machine. */
function checkKeyMode(tls: TlsConfig, log: Logger | undefined): void {
  const mode = statSync(tls.key_file).mode & 0o777;
  if ((mode & 0o004) === 0) return;
  const what = `server.tls.key_file: ${tls.key_file} is readable by every user (mode ${mode.toString(8).padStart(4, '0')}); chmod o-r it (e.g. chmod 0640, group machine-gateway)`;
  if (tls.refuse_readable_key) throw new Error(`${what}; refused because server.tls.refuse_readable_key is true`);
  log?.warn({ file: tls.key_file, mode: mode.toString(8) }, what);
}

function checkPem(file: string, setting: string, marker: RegExp): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
    throw new Error(`${setting}: cannot read ${file}: ${why}`);
  }
  if (!marker.test(readFileSync(file, 'latin1'))) throw new Error(`${setting}: ${file} is not a PEM file of the expected kind (${marker.source.replace(/\\/g, '')})`);
}

/** The child-app calls of uWS 20.57 (in its binary, not in its typings). */
interface ChildApps {
  addChildAppDescriptor(descriptor: number): void;
  removeChildAppDescriptor(descriptor: number): void;
  getDescriptor(): number;
}

/** A listening app that hands accepted sockets to child apps. */
export type AcceptingApp = TemplatedApp & ChildApps;

/** The handle a child app is added to an accepting app by. */
export function descriptorOf(app: TemplatedApp): number {
  return (app as unknown as ChildApps).getDescriptor();
}

/**
 * Whether this uWS build can serve a renewed certificate without a restart: 20.57 can hand
 * accepted sockets to child apps (addChildAppDescriptor), so a new app with the new certificate
 * takes the new connections; 20.30 has neither that nor any other way to change a running
 * SSL context (README "Supported platforms").
 */
export function canSwapCertificate(app: TemplatedApp): app is AcceptingApp {
  const a = app as unknown as Record<string, unknown>;
  return typeof a['addChildAppDescriptor'] === 'function' && typeof a['removeChildAppDescriptor'] === 'function' && typeof a['getDescriptor'] === 'function';
}

/** What a reload compares to tell a renewed certificate: the two files' contents (unreadable: empty). */
export function certificateFingerprint(tls: TlsConfig): string {
  const h = createHash('sha256');
  for (const f of [tls.cert_file, tls.key_file]) {
    try {
      h.update(readFileSync(f));
    } catch {
      h.update(`unreadable ${f}`);
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/** Subject and expiry of the first certificate in a PEM file, for the log. */
export function certificateInfo(certFile: string): { subject?: string; not_after?: string } {
  try {
    const c = new X509Certificate(readFileSync(certFile));
    return { subject: c.subject.replace(/\n/g, ', '), not_after: isoTime(Date.parse(c.validTo)) };
  } catch {
    return {};
  }
}
