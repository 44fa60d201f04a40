/**
 * Tokens and roles. A token is 256 random bits; the config holds only its sha256, so a leaked
 * config file does not leak access. A presented token is hashed and compared with every
 * configured hash in constant time (no early exit), so timing reveals neither which nor whether.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role, TokenEntry } from './auth-config.js';

export type { Role };

/** What a request wants to do; each role includes the ones below it. */
export type Permission = 'read' | 'control' | 'admin';

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };
const NEEDS: Record<Permission, Role> = { read: 'viewer', control: 'operator', admin: 'admin' };

export function roleAllows(role: Role, permission: Permission): boolean {
  return RANK[role] >= RANK[NEEDS[permission]];
}

export function roleNeeded(permission: Permission): Role {
  return NEEDS[permission];
}

/** Who is asking. Without configured tokens everyone is `anonymous` with every right (loopback only). */
export interface Principal {
  name: string;
  role: Role;
  anonymous: boolean;
}

export const ANONYMOUS: Principal = Object.freeze({ name: 'anonymous', role: 'admin', anonymous: true });

export const TOKEN_PREFIX = 'mgw_';

/** A new token: `mgw_` + 256 random bits, base64url (safe in headers, URLs and subprotocol names). */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

/** A date alone means its start, in UTC; a time without a zone is UTC too (a gateway's clock may run in any zone). */
export function expiryMs(text: string): number {
  const iso = text.replace(' ', 'T');
  return Date.parse(/T/.test(iso) && !/(?:Z|[+-]\d{2}:?\d{2})$/.test(iso) ? `${iso}Z` : iso);
}

/** Which token hash a principal came from, so a reload can tell a kept token from a replaced one. */
const HASH_OF = new WeakMap<Principal, string>();

export class TokenStore {
  private readonly entries: { digest: Buffer; principal: Principal; expiresAt: number | undefined }[];

  constructor(tokens: readonly TokenEntry[]) {
    this.entries = tokens.map((t) => {
      const principal: Principal = Object.freeze({ name: t.name, role: t.role, anonymous: false });
      HASH_OF.set(principal, t.hash);
      return { digest: Buffer.from(t.hash.slice('sha256:'.length), 'hex'), principal, expiresAt: t.expires === undefined ? undefined : expiryMs(t.expires) };
    });
  }

  /** When the principal's token stops working (ms since the epoch), or undefined. */
  expiresAt(p: Principal): number | undefined {
    return this.entries.find((e) => e.principal === p)?.expiresAt;
  }

  /** The configured tokens, without their hashes. */
  list(): { principal: Principal; expiresAt: number | undefined }[] {
    return this.entries.map(({ principal, expiresAt }) => ({ principal, expiresAt }));
  }

  /**
   * Whether a principal authenticated earlier (perhaps under a previous config) is still
   * allowed as it is: same token, same role; anonymous only while no tokens are configured.
   */
  holds(p: Principal): boolean {
    if (p.anonymous) return this.entries.length === 0;
    const hash = HASH_OF.get(p);
    return this.entries.some((e) => e.principal.name === p.name && e.principal.role === p.role && HASH_OF.get(e.principal) === hash);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The configured hash of a principal's token (to tell a token from a later one of the same name). */
  hashOf(p: Principal): string | undefined {
    return HASH_OF.get(p);
  }

  /** The principal of a presented token, or undefined. Takes the same time whichever entry matches. */
  find(token: string): Principal | undefined {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    let found: Principal | undefined;
    for (const e of this.entries) {
      if (timingSafeEqual(digest, e.digest) && found === undefined) found = e.principal;
    }
    return found;
  }
}
