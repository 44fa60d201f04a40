/**
 * The small pieces the doorman is built from, one by one: token format and hashing, lookup,
 * roles, the Authorization header, loopback addresses and the Origin/Host rules.
 */
import { describe, expect, it } from 'vitest';
import { ANONYMOUS, TokenStore, hashToken, newToken, roleAllows } from '../../src/server/auth.js';
import { bearer, isLoopback } from '../../src/server/auth-guard.js';
import { OriginPolicy } from '../../src/server/auth-origin.js';
import { TOKEN_HASH } from '../../src/server/auth-config.js';
import { redactConfig } from '../../src/server/auth-routes.js';

describe('tokens', () => {
  it('are 256 random bits, url-safe, and hash to the config format', () => {
    const a = newToken();
    const b = newToken();
    expect(a).toMatch(/^mgw_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(a).not.toBe(b);
    expect(hashToken(a)).toMatch(TOKEN_HASH);
    expect(hashToken(a)).not.toContain(a.slice(4));
  });

  it('are found by their hash only, whichever entry they are, and a revoked or re-roled one no longer holds', () => {
    const [t1, t2] = [newToken(), newToken()];
    const store = new TokenStore([
      { name: 'a', role: 'viewer', hash: hashToken(t1) },
      { name: 'b', role: 'operator', hash: hashToken(t2) },
    ]);
    expect(store.find(t1)).toMatchObject({ name: 'a', role: 'viewer', anonymous: false });
    expect(store.find(t2)).toMatchObject({ name: 'b', role: 'operator' });
    expect(store.find(t2 + 'x')).toBeUndefined();
    expect(store.find('')).toBeUndefined();
    expect(store.find(hashToken(t1))).toBeUndefined(); // the hash is not a password
    const b = store.find(t2)!;
    expect(new TokenStore([{ name: 'b', role: 'operator', hash: hashToken(t2) }]).holds(b)).toBe(true);
    expect(new TokenStore([{ name: 'b', role: 'viewer', hash: hashToken(t2) }]).holds(b)).toBe(false);
    expect(new TokenStore([{ name: 'b', role: 'operator', hash: hashToken(newToken()) }]).holds(b)).toBe(false);
    expect(new TokenStore([]).holds(ANONYMOUS)).toBe(true);
    expect(store.holds(ANONYMOUS)).toBe(false);
  });
});

describe('roles', () => {
  it('include the rights of the roles below them', () => {
    const table = (['viewer', 'operator', 'admin'] as const).map((r) => (['read', 'control', 'admin'] as const).map((p) => roleAllows(r, p)));
    expect(table).toEqual([
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
  });
});

describe('the Authorization header', () => {
  it('takes exactly one bearer token, scheme in any case', () => {
    expect(bearer('Bearer abc')).toBe('abc');
    expect(bearer('bearer   abc ')).toBe('abc');
    expect(bearer('BEARER abc')).toBe('abc');
    for (const bad of ['', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Token abc', 'Bearerabc']) expect(bearer(bad)).toBeUndefined();
  });
});

describe('addresses', () => {
  it('knows loopback from LAN', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'gateway.local', '128.0.0.1']) expect(isLoopback(h)).toBe(false);
  });
});

describe('Origin and Host', () => {
  const policy = new OriginPolicy({ allowedOrigins: ['https://HMI.plant.example:8443'] });

  it("allows no Origin, the gateway's own, and listed ones; refuses other sites, null and other schemes", () => {
    expect(policy.allows('', '10.0.0.5:8000')).toBe(true);
    expect(policy.allows('http://10.0.0.5:8000', '10.0.0.5:8000')).toBe(true);
    expect(policy.allows('http://[::1]:8000', '[::1]:8000')).toBe(true);
    expect(policy.allows('https://hmi.plant.example:8443', 'gw:8000')).toBe(true);
    expect(policy.allows('https://hmi.plant.example', 'gw:8000')).toBe(false); // other port
    expect(policy.allows('http://10.0.0.5:8001', '10.0.0.5:8000')).toBe(false);
    expect(policy.allows('https://evil.example', 'evil.example')).toBe(true); // same origin by Host: the token and Host rules apply
    expect(policy.allows('https://evil.example', '10.0.0.5:8000')).toBe(false);
    expect(policy.allows('null', '10.0.0.5:8000')).toBe(false);
    expect(policy.allows('file://', '')).toBe(false);
    expect(policy.allows('chrome-extension://abc', 'abc')).toBe(false);
  });

  it('knows IP addresses, localhost, its own name and allowed hosts; not other names (DNS rebinding)', () => {
    for (const h of ['127.0.0.1:8000', '10.0.0.5', '[::1]:8000', 'localhost:8000', 'hmi.plant.example', '']) expect(policy.knownHost(h)).toBe(true);
    for (const h of ['evil.example:8000', 'attacker.localhost.evil', 'xn--80ak6aa92e.com']) expect(policy.knownHost(h)).toBe(false);
  });
});

describe('the config as an admin reads it', () => {
  it('hides token hashes and the key passphrase', () => {
    const shown = JSON.stringify(redactConfig({ auth: { tokens: [{ name: 'a', role: 'admin', hash: 'sha256:' + 'a'.repeat(64) }] }, server: { tls: { passphrase: 'secret' } } }));
    expect(shown).not.toContain('sha256:');
    expect(shown).not.toContain('secret');
    expect(shown).toContain('"name":"a"');
  });
});
