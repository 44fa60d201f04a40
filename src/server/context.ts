import type { Logger } from 'pino';
import type { ControlService } from '../core/control.js';
import type { Registry } from '../core/registry.js';
import type { ServerConfig } from '../config/schema.js';
import type { Security } from './auth-guard.js';
import type { AlarmService } from '../alarms/service.js';

/** What the routes need; built once by the Server. */
export interface ServerContext {
  config: ServerConfig;
  registry: Registry;
  control: ControlService;
  log: Logger;
  /** Whether drivers have started and the gateway accepts control writes. */
  /**
   * Whether drivers have started (control writes need that), and which field links (buses,
   * serial ports) are down right now: /readyz reports not ready while any is.
   */
  readiness: () => Readiness;
  stats: ServerStats;
  /** Authentication, roles, origin checks and rate limits (src/server/auth-guard.ts). */
  security: Security;
  /** The alarm system, for the `alarms` WebSocket topic and routes (absent in servers built without one). */
  alarms?: AlarmService | undefined;
}

/** What /readyz, `mgw status` and control writes need to know about the gateway's state. */
export interface Readiness {
  ready: boolean;
  reason?: string;
  linksDown?: string[];
  /** Why the audit trail cannot be written (control writes are refused meanwhile), if so. */
  auditProblem?: string | undefined;
  /** Diff consumers that cannot do their job (the northbound broker link), with why. */
  consumersDown?: { name: string; reason: string }[];
}

export interface ServerStats {
  connections: number;
  connectionsTotal: number;
  connectionsRefused: number;
  messagesIn: number;
  messagesOut: number;
  publishes: number;
  httpRequests: number;
  closedSlow: number;
  /** TCP connections open, and closed at once past server.max_http_connections (uWS 20.57 only). */
  tcpConnections: number;
  tcpConnectionsRefused: number;
}

export function newStats(): ServerStats {
  return { connections: 0, connectionsTotal: 0, connectionsRefused: 0, messagesIn: 0, messagesOut: 0, publishes: 0, httpRequests: 0, closedSlow: 0, tcpConnections: 0, tcpConnectionsRefused: 0 };
}
