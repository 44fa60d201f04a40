/**
 * Optional HTTPS/WSS: the same routes on a uWS SSLApp. The files are checked before uWS sees
 * them, because uWS answers a missing or unreadable file with a bare listen failure.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import * as v from 'valibot';
import type { TemplatedApp } from 'uWebSockets.js';
import { text } from '../config/fields.js';
import type { uws } from './uws.js';

export const TlsSchema = v.strictObject(
  {
    cert_file: text('PEM certificate (chain) for HTTPS and WSS, e.g. /etc/machine-gateway/tls/cert.pem.'),
    key_file: text('PEM private key of the certificate; readable by the gateway user only.'),
    passphrase: v.optional(text('Passphrase of an encrypted key file.')),
  },
  'unknown setting',
);

export type TlsConfig = v.InferOutput<typeof TlsSchema>;

/** Plain App without TLS config; SSLApp with it, after checking that both files are readable PEM. */
export function createApp(lib: ReturnType<typeof uws>, tls: TlsConfig | undefined): TemplatedApp {
  if (tls === undefined) return lib.App();
  checkPem(tls.cert_file, 'server.tls.cert_file', /-----BEGIN CERTIFICATE-----/);
  checkPem(tls.key_file, 'server.tls.key_file', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  // uWS reports a key that does not fit the certificate only as "App construction failed".
  try {
    createSecureContext({ cert: readFileSync(tls.cert_file), key: readFileSync(tls.key_file), ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }) });
  } catch (err) {
    throw new Error(`server.tls: the certificate and key do not match, or the key's passphrase is wrong (${(err as Error).message})`);
  }
  return lib.SSLApp({
    cert_file_name: tls.cert_file,
    key_file_name: tls.key_file,
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
  });
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
