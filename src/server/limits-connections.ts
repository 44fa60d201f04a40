/**
 * Fair shares of the WebSocket slots. server.max_connections alone let one client take them
 * all (one viewer token opened 100 sockets and the operator got 503). So each token, and each
 * remote address, may hold only so many, and the last few slots are kept for the roles that
 * can act (operator, admin): whoever must stop a motor gets in while viewers fill the gateway.
 *
 * Loopback addresses are not capped per address: every local process (the CLI, a local bridge)
 * shares one, and whoever runs there is on the gateway itself.
 */
import { GatewayError } from '../core/errors.js';
import { isLoopback } from './auth-guard.js';
import { roleAllows, type Principal } from './auth.js';
import type { LimitsConfig } from './limits-config.js';

type ConnectionLimits = Pick<LimitsConfig, 'ws_connections_per_token' | 'ws_connections_per_address' | 'ws_reserved_connections'>;

export class ConnectionShares {
  private readonly byToken = new Map<string, number>();
  private readonly byAddress = new Map<string, number>();
  total = 0;

  /**
   * Throws too_many_connections when this principal from this address may not open one more
   * connection; `max` is server.max_connections.
   */
  check(principal: Principal, remote: string, max: number, limits: ConnectionLimits): void {
    if (this.total >= max) {
      throw new GatewayError('too_many_connections', `the gateway already serves ${max} WebSocket connections (server.max_connections); try again later`);
    }
    const privileged = roleAllows(principal.role, 'control');
    if (!privileged && this.total >= max - limits.ws_reserved_connections) {
      throw new GatewayError(
        'too_many_connections',
        `the last ${limits.ws_reserved_connections} of ${max} WebSocket connections are kept for operators and admins (limits.ws_reserved_connections); token "${principal.name}" has role ${principal.role}; try again later`,
      );
    }
    if (!principal.anonymous && (this.byToken.get(principal.name) ?? 0) >= limits.ws_connections_per_token) {
      throw new GatewayError(
        'too_many_connections',
        `token "${principal.name}" already holds ${limits.ws_connections_per_token} WebSocket connections (limits.ws_connections_per_token); close one first`,
      );
    }
    if (!isLoopback(remote) && (this.byAddress.get(remote) ?? 0) >= limits.ws_connections_per_address) {
      throw new GatewayError(
        'too_many_connections',
        `${remote} already holds ${limits.ws_connections_per_address} WebSocket connections (limits.ws_connections_per_address); close one first`,
      );
    }
  }

  opened(principal: Principal, remote: string): void {
    this.total++;
    if (!principal.anonymous) this.byToken.set(principal.name, (this.byToken.get(principal.name) ?? 0) + 1);
    this.byAddress.set(remote, (this.byAddress.get(remote) ?? 0) + 1);
  }

  closed(principal: Principal, remote: string): void {
    this.total = Math.max(0, this.total - 1);
    if (!principal.anonymous) decrement(this.byToken, principal.name);
    decrement(this.byAddress, remote);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
