/**
 * Fixtures for the security tests: gateways with tokens and a private state directory, and a raw
 * HTTP client that may send any header (fetch refuses to set Host, Origin and friends).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { hashToken, newToken } from '../../src/server/auth.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';

export interface Tokens {
  viewer: string;
  operator: string;
  admin: string;
}

export function makeTokens(): { tokens: Tokens; entries: { name: string; role: 'viewer' | 'operator' | 'admin'; hash: string }[] } {
  const tokens: Tokens = { viewer: newToken(), operator: newToken(), admin: newToken() };
  return {
    tokens,
    entries: (Object.keys(tokens) as (keyof Tokens)[]).map((role) => ({ name: `${role}_token`, role, hash: hashToken(tokens[role]) })),
  };
}

export interface SecuredGateway extends RunningGateway {
  stateDir: string;
  cleanup: () => Promise<void>;
}

/** A real gateway with a temporary state directory, removed by cleanup(). */
export async function startSecured(input: Partial<GatewayConfigInput> = {}, stateDir?: string): Promise<SecuredGateway> {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'mgw-sec-'));
  const gw = await startGateway({ log: { level: 'warn' }, ...input, state_dir: dir });
  return {
    ...gw,
    stateDir: dir,
    cleanup: async () => {
      await gw.stop();
      if (stateDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: any;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * An HTTP request with exactly the given headers (Host included). A keep-alive socket that the
 * server closed just before reuse (after a 413, say) fails with ECONNRESET before the request
 * was read: that one is retried once on a fresh socket, as Node's documentation advises.
 */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
  options: { agent?: http.Agent | false } = {},
): Promise<RawResponse> {
  return once(port, method, path, headers, body, options.agent === undefined ? agent : options.agent).catch((err: NodeJS.ErrnoException & { reused?: boolean }) => {
    if (err.reused && (err.code === 'ECONNRESET' || err.message === 'socket hang up')) {
      return once(port, method, path, headers, body, false).catch((again: Error) => {
        throw new Error(`${again.message} (again on a fresh socket, after ${err.message} on a reused one)`);
      });
    }
    throw err;
  });
}

function once(port: number, method: string, path: string, given: Record<string, string>, body: string | Buffer | undefined, useAgent: http.Agent | false): Promise<RawResponse> {
  // Node frames a body with Content-Length only for methods that usually carry one; say it always.
  const headers = body === undefined || Object.keys(given).some((k) => k.toLowerCase() === 'content-length') ? given : { ...given, 'Content-Length': String(Buffer.byteLength(body)) };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers, agent: useAgent, setHost: !('Host' in headers || 'host' in headers) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text === '' ? null : JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException & { reused?: boolean }) => {
      err.reused = req.reusedSocket;
      reject(err);
    });
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export function bearer(token: string): Record<string, string> {
  return { Authorization: `Bearer ${token}` };
}
