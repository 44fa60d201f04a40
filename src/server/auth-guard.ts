/**
 * The gateway's doorman: every REST route and the WebSocket upgrade ask it who is calling and
 * whether they may, and it answers refusals itself with a coded error. The routes only add a
 * one-line hook; the rules live here.
 */
import { isIP } from 'node:net';
import type { HttpRequest, WebSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { GatewayError } from '../core/errors.js';
import type { AuthConfig } from './auth-config.js';
import { AuthSchema } from './auth-config.js';
import { ANONYMOUS, TokenStore, roleAllows, roleNeeded, type Permission, type Principal } from './auth.js';
import { OriginPolicy } from './auth-origin.js';
import { DEFAULT_LIMITS, type LimitsConfig } from './limits-config.js';
import { KeyedLimiter, MessageGate } from './limits.js';
import { errorHeaders, sendJson, type Reply } from './http.js';
import { errorMessage, type ClientMessage } from './protocol.js';
import * as v from 'valibot';
import { isoTime } from '../core/time.js';

export interface SecurityOptions {
  auth: AuthConfig;
  limits: LimitsConfig;
  log: Logger;
  now?: () => number;
}

/** One line of `mgw token list` (GET /api/v1/tokens). */
export interface TokenReport {
  name: string;
  role: Principal['role'];
  expires: string | null;
  expired: boolean;
  /** Kept in the state directory across restarts (see src/platform/token-use.ts); null when never used. */
  last_used: string | null;
  last_remote: string | null;
}

/** When (ms since the epoch) and from which address a token was last accepted, and under which hash. */
export interface TokenUse {
  at: number;
  remote: string;
  /** The start of the token's configured hash (tokenFingerprint): tells a token from a later one of the same name. */
  hash: string;
}

/** `sha256:` and 16 hex digits of a configured hash: enough to tell tokens apart, too little to stand in for the hash. */
export function tokenFingerprint(hash: string | undefined): string {
  return (hash ?? '').slice(0, 'sha256:'.length + 16);
}

/** What a WebSocket connection carries from its upgrade: who it is and its message gate. */
export interface ConnectionGuard {
  principal: Principal;
  gate: MessageGate;
  /** Set once the server decided to close it: nothing more is sent. */
  closing: boolean;
}

/**
 * What each WebSocket action needs. Typed over every action, so a new action (a write over the
 * WebSocket, say) does not compile until someone decides which role may use it.
 */
export const WS_ACTION_PERMISSION: Record<ClientMessage['action'], Permission> = {
  ping: 'read',
  get_all_status: 'read',
  get_status: 'read',
  subscribe: 'read',
  unsubscribe: 'read',
};

/** The token scheme inside Sec-WebSocket-Protocol, for browsers that cannot set headers. */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/** The subprotocol name a client offers beside `bearer.<token>`; the one the gateway echoes. */
export const WS_PROTOCOL = 'mgw.v1';

interface Presented {
  token: string | undefined;
  /** Where a token was found that this door does not accept (for a helpful 401). */
  misplaced?: string;
}

/**
 * A configuration the gateway refuses to run (an open gateway on a LAN address): like an
 * invalid one, a restart cannot fix it, so `mgw serve` exits 78 and systemd does not retry.
 */
export class UnsafeConfigError extends Error {
  override readonly name = 'UnsafeConfigError';
}

export class Security {
  tokens!: TokenStore;
  origins!: OriginPolicy;
  limits!: LimitsConfig;
  private auth!: AuthConfig;
  private failures!: KeyedLimiter;
  private writes!: KeyedLimiter;
  /**
   * When and from where each token was last accepted, by name, with the hash it was accepted
   * under. Kept here per request; written to disk in batches (src/platform/token-use.ts), since a
   * write per request would wear the SD card.
   */
  private readonly lastUse = new Map<string, TokenUse>();
  /** Bumped on every accepted token; the writer compares it with what it last wrote. */
  lastUseVersion = 0;
  /** Warn-level refusal lines per address: 20 at once, then one per 3 s (the log lives on an SD card). */
  private readonly refusalLogs = new KeyedLimiter({ ratePerS: 1 / 3, burst: 20, maxKeys: 1000 });

  constructor(private readonly options: SecurityOptions) {
    this.apply(options.auth, options.limits);
  }

  private apply(auth: AuthConfig, limits: LimitsConfig): void {
    const now = this.options.now ? { now: this.options.now } : {};
    const sameFailures = this.auth?.failed_attempts_per_min === auth.failed_attempts_per_min;
    const sameWrites = this.limits?.rest_writes_per_s === limits.rest_writes_per_s && this.limits?.rest_write_burst === limits.rest_write_burst;
    this.tokens = new TokenStore(auth.tokens);
    this.origins = new OriginPolicy({ allowedOrigins: auth.allowed_origins });
    // Keep what the buckets know when their rates did not change: a reload is no amnesty.
    if (!sameFailures) this.failures = new KeyedLimiter({ ratePerS: auth.failed_attempts_per_min / 60, burst: auth.failed_attempts_per_min, ...now });
    if (!sameWrites) this.writes = new KeyedLimiter({ ratePerS: limits.rest_writes_per_s, burst: limits.rest_write_burst, ...now });
    this.auth = auth;
    this.limits = limits;
  }

  /**
   * Applies new auth and limits on reload. Refuses (throws, nothing changed) a config that would
   * leave `host` open without tokens. WebSocket connections whose token was removed or changed
   * role are closed (1008); new message rates apply to new connections.
   */
  update(next: { auth: AuthConfig; limits: LimitsConfig }, host: string, sockets: Iterable<WebSocket<{ guard: ConnectionGuard; clientId?: string }>> = []): { closed: number } {
    if (next.auth.tokens.length === 0 && !next.auth.trusted_network && !isLoopback(host)) {
      throw new Error(`refusing to drop every token while listening on ${host}: anyone on that network could start motors; keep a token or set auth.trusted_network: true`);
    }
    this.apply(next.auth, next.limits);
    let closed = 0;
    for (const ws of [...sockets]) {
      const data = ws.getUserData();
      if (data.guard.closing || this.tokens.holds(data.guard.principal)) continue;
      data.guard.closing = true;
      closed++;
      this.options.log.warn({ client: data.clientId, token: data.guard.principal.name }, 'websocket closed: its token was revoked or changed role');
      ws.end(1008, 'token revoked or changed; reconnect with a valid token');
    }
    return { closed };
  }

  /** The configured tokens for admins: name, role, expiry and last use; never a hash. */
  tokenReport(): TokenReport[] {
    const now = this.options.now?.() ?? Date.now();
    return this.tokens.list().map(({ principal, expiresAt }) => {
      const stored = this.lastUse.get(principal.name);
      // A token of the same name with another hash (revoked and added again) was never used.
      const used = stored?.hash === tokenFingerprint(this.tokens.hashOf(principal)) ? stored : undefined;
      return {
        name: principal.name,
        role: principal.role,
        expires: expiresAt === undefined ? null : isoTime(expiresAt),
        expired: expiresAt !== undefined && now >= expiresAt,
        last_used: used === undefined ? null : isoTime(used.at),
        last_remote: used?.remote ?? null,
      };
    });
  }

  /** Last use of the tokens configured now (by name, with their hash), for the state file. */
  lastUseSnapshot(): Record<string, TokenUse> {
    const out: Record<string, TokenUse> = {};
    for (const { principal } of this.tokens.list()) {
      const used = this.lastUse.get(principal.name);
      if (used !== undefined && used.hash === tokenFingerprint(this.tokens.hashOf(principal))) out[principal.name] = used;
    }
    return out;
  }

  /** Takes last use from the state file: only for tokens configured now with the same hash, never newer entries overwritten. */
  restoreLastUse(saved: Record<string, TokenUse>): number {
    let restored = 0;
    for (const { principal } of this.tokens.list()) {
      const s = saved[principal.name];
      if (s === undefined || s.hash !== tokenFingerprint(this.tokens.hashOf(principal))) continue;
      const have = this.lastUse.get(principal.name);
      if (have !== undefined && have.hash === s.hash && have.at >= s.at) continue;
      this.lastUse.set(principal.name, s);
      restored++;
    }
    return restored;
  }

  /** Open security: no tokens, default limits (for servers built without a config, e.g. unit tests). */
  static open(log: Logger): Security {
    return new Security({ auth: v.parse(AuthSchema, {}), limits: DEFAULT_LIMITS, log });
  }

  /** Whether tokens are required. */
  get enabled(): boolean {
    return this.tokens.size > 0;
  }

  /**
   * Refuses to expose an open gateway: without tokens only a loopback address may be bound,
   * unless auth.trusted_network says this network is trusted. Throws with the fix.
   */
  checkExposure(host: string): void {
    if (this.enabled || this.auth.trusted_network || isLoopback(host)) return;
    throw new UnsafeConfigError(
      `refusing to listen on ${host} without tokens: anyone on that network could start motors. ` +
        'Add a token with `mgw token add NAME --role operator` (it writes the config file), ' +
        'or listen on 127.0.0.1 (server.host), or set auth.trusted_network: true if this network is trusted',
    );
  }

  /**
   * REST hook. Reads what it needs from `req` synchronously; on refusal it answers and returns
   * undefined. The connection stays open: uWS skips an unread body by its length, while closing
   * with the body still unread makes the kernel reset the connection, and the client would
   * lose the answer.
   */
  rest(req: HttpRequest, reply: Reply, permission: Permission, what?: string): Principal | undefined {
    const origin = req.getHeader('origin');
    const host = req.getHeader('host');
    try {
      // Reads are protected from other sites by the browser (no CORS headers); writes are not.
      if (permission !== 'read' && !this.origins.allows(origin, host)) throw this.badOrigin(origin);
      const query = req.getQuery() ?? '';
      const presented: Presented = { token: bearer(req.getHeader('authorization')) };
      if (presented.token === undefined && /(?:^|&)(?:token|access_token)=/.test(query)) presented.misplaced = 'the URL query (?token= is for browser WebSockets only)';
      return this.authorize(presented, host, reply.remote, permission, what);
    } catch (err) {
      this.refuse(reply, err);
      return undefined;
    }
  }

  /**
   * WebSocket upgrade hook: the token may come as `Authorization: Bearer`, as a
   * `bearer.<token>` subprotocol, or as `?token=`. Returns the principal and the subprotocol to
   * echo, or answers the refusal (401/403/429) before any upgrade and returns undefined.
   */
  upgrade(req: HttpRequest, reply: Reply): { guard: ConnectionGuard; protocol: string } | undefined {
    const origin = req.getHeader('origin');
    const host = req.getHeader('host');
    const protocols = req
      .getHeader('sec-websocket-protocol')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p !== '');
    const query = new URLSearchParams(req.getQuery() ?? '');
    try {
      if (!this.origins.allows(origin, host)) throw this.badOrigin(origin);
      const fromProtocol = protocols.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
      const token = bearer(req.getHeader('authorization')) ?? fromProtocol?.slice(BEARER_PROTOCOL_PREFIX.length) ?? query.get('token') ?? undefined;
      const principal = this.authorize({ token }, host, reply.remote, 'read');
      // A browser fails the handshake unless one offered subprotocol is echoed, and the only one
      // offered would be the token: echoed, it would sit in every proxy's response log.
      const protocol = protocols.find((p) => !p.startsWith(BEARER_PROTOCOL_PREFIX));
      if (fromProtocol !== undefined && protocol === undefined) {
        throw new GatewayError(
          'invalid_request',
          `offer a protocol name beside the token, e.g. new WebSocket(url, ["${WS_PROTOCOL}", "bearer.<token>"]): the gateway answers with that name, never with the token`,
        );
      }
      const initial = devicesParam(query)?.length ?? 0;
      if (initial > this.limits.max_subscriptions) this.checkSubscription(initial);
      const { limits } = this;
      const gate = new MessageGate({
        ratePerS: limits.ws_messages_per_s,
        burst: limits.ws_message_burst,
        refusalsBeforeClose: limits.ws_refusals_before_close,
        ...(this.options.now ? { now: this.options.now } : {}),
      });
      return { guard: { principal, gate, closing: false }, protocol: protocol ?? '' };
    } catch (err) {
      this.refuse(reply, err);
      return undefined;
    }
  }

  /**
   * WebSocket message hook, before parsing: false when the message must be dropped. Answers
   * the first refusal of a run with rate_limited and closes (1008) a client that keeps going.
   */
  admitMessage<T extends { guard: ConnectionGuard; clientId?: string }>(ws: WebSocket<T>): boolean {
    const data = ws.getUserData();
    if (data.guard.closing) return false;
    const verdict = data.guard.gate.admit();
    if (verdict === 'pass') return true;
    if (verdict === 'refuse_and_tell') {
      ws.send(
        errorMessage(
          'rate_limited',
          `more than ${this.limits.ws_messages_per_s} messages per second (limits.ws_messages_per_s); messages are dropped until you slow down, and the connection is closed if you keep on`,
        ),
      );
    } else if (verdict === 'close') {
      this.options.log.warn({ client: data.clientId, token: data.guard.principal.name, refused: data.guard.gate.refused }, 'websocket closed: message rate limit');
      data.guard.closing = true;
      ws.end(1008, 'rate limit exceeded');
    }
    return false;
  }

  /** WebSocket action hook: throws forbidden when the connection's role may not do `permission`. */
  requireOnConnection(guard: ConnectionGuard, permission: Permission, what: string): void {
    if (!roleAllows(guard.principal.role, permission)) throw this.forbidden(guard.principal, permission, what);
  }

  /** Throws when subscribing to one more device would pass limits.max_subscriptions. */
  checkSubscription(current: number): void {
    if (current >= this.limits.max_subscriptions) {
      throw new GatewayError(
        'too_many_subscriptions',
        `this connection is already subscribed to ${current} devices (limits.max_subscriptions); unsubscribe from one first`,
      );
    }
  }

  /** REST write rate per token (per remote address when anonymous); throws rate_limited. */
  takeWrite(principal: Principal, remote: string): void {
    const key = principal.anonymous ? `addr:${remote}` : `token:${principal.name}`;
    if (!this.writes.take(key)) {
      const retry = Math.max(1, this.writes.retryAfterS(key));
      throw new GatewayError(
        'rate_limited',
        `more than ${this.limits.rest_writes_per_s} control writes per second for ${principal.anonymous ? remote : `token ${principal.name}`} (limits.rest_writes_per_s); try again in ${retry} s`,
        { details: { retry_after_s: retry } },
      );
    }
  }

  private authorize(presented: Presented, host: string, remote: string, permission: Permission, what?: string): Principal {
    if (!this.enabled) {
      if (!this.origins.knownHost(host)) {
        throw new GatewayError(
          'forbidden',
          `unknown Host ${JSON.stringify(host.slice(0, 100))}: without tokens the gateway answers only to its IP addresses, localhost and its own name; add the address to auth.allowed_origins or configure tokens`,
        );
      }
      return ANONYMOUS;
    }
    if (presented.token === undefined || presented.token === '') {
      // Not a guess, so it does not count against the address (a local tool that forgot its
      // token must not lock out the other clients on the same machine).
      const where = presented.misplaced ? `a token in ${presented.misplaced} is not accepted here; ` : '';
      throw new GatewayError('unauthorized', `${where}this gateway needs a token: send "Authorization: Bearer <token>" (mgw: --token or MGW_TOKEN)`);
    }
    // A valid token always passes, even from an address that is guessing (a shared panel PC, a
    // NAT): the lockout is for the guesses. A token is 256 random bits, so telling a guesser
    // "locked out" apart from "wrong" gives nothing away.
    const principal = this.tokens.find(presented.token);
    if (principal === undefined) {
      if (!this.failures.take(remote)) {
        const retry = Math.max(1, this.failures.retryAfterS(remote));
        throw new GatewayError('rate_limited', `too many failed token attempts from ${remote} (auth.failed_attempts_per_min); try again in ${retry} s`, {
          details: { retry_after_s: retry },
        });
      }
      throw new GatewayError('unauthorized', 'the token is not valid (unknown or revoked); ask the administrator for a token (`mgw token add`)');
    }
    const expiresAt = this.tokens.expiresAt(principal);
    const now = this.options.now?.() ?? Date.now();
    if (expiresAt !== undefined && now >= expiresAt) {
      throw new GatewayError('unauthorized', `token "${principal.name}" expired at ${isoTime(expiresAt)}; ask the administrator for a new one (\`mgw token add\`)`);
    }
    if (!roleAllows(principal.role, permission)) throw this.forbidden(principal, permission, what ?? (permission === 'control' ? 'control writes' : 'this'));
    this.lastUse.set(principal.name, { at: now, remote, hash: tokenFingerprint(this.tokens.hashOf(principal)) });
    this.lastUseVersion++;
    return principal;
  }

  private forbidden(p: Principal, permission: Permission, what: string): GatewayError {
    return new GatewayError('forbidden', `token "${p.name}" has role ${p.role}; ${what} need${what.endsWith('s') ? '' : 's'} role ${roleNeeded(permission)} or higher`);
  }

  private badOrigin(origin: string): GatewayError {
    return new GatewayError(
      'forbidden',
      `requests from the web page at ${JSON.stringify(origin.slice(0, 200))} are not allowed; add that origin to auth.allowed_origins if it is a trusted HMI`,
    );
  }

  private refuse(reply: Reply, err: unknown): void {
    const e = err instanceof GatewayError ? err : new GatewayError('internal_error', 'internal error', { cause: err });
    if (e.code === 'internal_error') this.options.log.error({ err }, 'authorization failed');
    // Refusals are the log's part of the audit trail (the trail holds writes that reached a device);
    // repeated failures from one address are already cut off by the 429, which is only debug.
    else if (e.code === 'rate_limited' || !this.refusalLogs.take(reply.remote)) this.options.log.debug({ remote: reply.remote, code: e.code }, 'refused');
    else this.options.log.warn({ remote: reply.remote, code: e.code, reason: e.message }, 'refused');
    sendJson(reply, e.status, e.toJSON(), errorHeaders(e));
  }
}

/**
 * The device ids of `?devices=a,b` (undefined without the parameter), each once: a list with
 * `motor_01` a thousand times once made a 746 KB welcome.
 */
export function devicesParam(query: URLSearchParams): string[] | undefined {
  const raw = query.get('devices');
  if (raw === null) return undefined;
  return [...new Set(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or undefined. */
export function bearer(header: string): string | undefined {
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}
