/**
 * Browser checks. A page on another site can make a technician's browser open our WebSocket or
 * POST a control write (cross-site WebSocket hijacking, CSRF): the browser sends `Origin`, and
 * we refuse origins that are neither the gateway itself nor on auth.allowed_origins. Clients
 * that send no Origin are not browsers and are judged by their token alone.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';

export interface OriginPolicyOptions {
  allowedOrigins: readonly string[];
}

export class OriginPolicy {
  private readonly allowed: Set<string>;
  private readonly knownHosts: Set<string>;

  constructor(options: OriginPolicyOptions) {
    this.allowed = new Set(options.allowedOrigins.map((o) => o.toLowerCase()));
    const host = hostname().toLowerCase();
    this.knownHosts = new Set(['localhost', host, `${host}.local`]);
    for (const o of this.allowed) this.knownHosts.add(new URL(o).hostname);
  }

  /**
   * Whether a request with this Origin (may be '') and Host header may go on. The gateway's own
   * origin is the one whose host:port equals the Host header the browser sent with it.
   */
  allows(origin: string, host: string): boolean {
    if (origin === '') return true;
    const o = origin.toLowerCase();
    if (this.allowed.has(o)) return true;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return false; // "null" (sandboxed frames, file://) and garbage
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return host !== '' && url.host === host.toLowerCase();
  }

  /**
   * Without tokens, also refuse Host names we do not know: a page that rebinds its own DNS name
   * to 127.0.0.1 would otherwise be "same origin" with the gateway (DNS rebinding).
   */
  knownHost(host: string): boolean {
    if (host === '') return true; // HTTP/1.0 clients; not a browser
    let name = host.toLowerCase();
    if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'));
    else if (name.includes(':')) name = name.slice(0, name.lastIndexOf(':'));
    return isIP(name) !== 0 || this.knownHosts.has(name);
  }
}
