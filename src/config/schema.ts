/**
 * The gateway's configuration: one valibot schema that is at once the TypeScript type, the
 * defaults and (exported with `mgw config schema`) config/gateway.schema.json.
 * Every option says its unit, range and default next to its declaration.
 */
import * as v from 'valibot';
import { int, text } from './fields.js';
import { BusesSchema } from '../../drivers/bus/config.js';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { HealthSchema } from '../platform/watchdog.js';
import { AuthSchema } from '../server/auth-config.js';
import { LimitsSchema } from '../server/limits-config.js';
import { TlsSchema } from '../server/auth-tls.js';
import { HistoryStoreSchema } from '../historian/config.js';
import { AlarmSettingsSchema } from '../alarms/config.js';
import { NorthboundSchema } from '../northbound/config.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

export const ServerSchema = v.strictObject(
  {
    host: v.optional(text('Address to listen on. 127.0.0.1 keeps the gateway on this machine; 0.0.0.0 opens it to the LAN.'), '127.0.0.1'),
    port: v.optional(int(0, 65535, 'TCP port for HTTP and WebSocket; 0 picks a free one.'), 8000),
    max_connections: v.optional(int(1, 100_000, 'WebSocket connections at once; the next is refused with 503 too_many_connections.'), 100),
    max_http_connections: v.optional(
      int(
        1,
        1_000_000,
        'TCP connections at once (HTTP and WebSocket); more are closed unanswered, so the gateway keeps file descriptors for its own files and ports. Enforced on the uWebSockets.js 20.57 build; 20.30 has no hook for it (LimitNOFILE= bounds the sockets there).',
      ),
      8192,
    ),
    max_message_bytes: v.optional(int(64, 1_048_576, 'Largest WebSocket message a client may send (bytes); larger closes with 1009.'), 1024),
    heartbeat_s: v.optional(int(0, 960, 'Seconds a WebSocket may stay silent; the server pings before that. 0 disables.'), 30),
    max_body_bytes: v.optional(int(64, 16_777_216, 'Largest REST request body (bytes); larger gets 413.'), 16_384),
    max_backpressure_bytes: v.optional(
      int(1024, 67_108_864, 'Bytes queued for one slow WebSocket client before it is closed (it resumes with `since`).'),
      262_144,
    ),
    control_timeout_ms: v.optional(int(10, 600_000, 'How long a control write may wait for the device to confirm (ms).'), 5000),
    shutdown_timeout_ms: v.optional(int(100, 60_000, 'Longest a clean shutdown may take before the process exits anyway (ms).'), 2000),
    tls: v.optional(TlsSchema),
    hmi_time_format: v.optional(
      v.pipe(v.picklist(['24h', '12h'] as const, 'must be 24h or 12h'), v.description('How the HMI page shows times of day, whatever the browser locale says (one format for the plant).')),
      '24h',
    ),
  },
  'unknown setting',
);

export const RegistrySchema = v.strictObject(
  {
    replay_size: v.optional(
      int(1, 1_000_000, 'Diffs kept per device for clients that reconnect with `since` (memory: ~25 bytes per changed value held, ~0.5 KB for a diff of 20 points).'),
      200,
    ),
  },
  'unknown setting',
);

/** The bounded per-point history behind the HMI trends and GET /api/v1/devices/{id}/history. */
export const MAX_HISTORY_SAMPLES = 86_400;
export const HistorySchema = v.pipe(
  v.strictObject(
    {
      window_s: v.optional(int(10, 86_400, 'How far back the history of each numeric point reaches (seconds, 10 s to 24 h); the HMI trends show the last 300 s.'), 300),
      resolution_ms: v.optional(
        int(100, 3_600_000, 'Finest spacing of kept samples (ms); faster changes keep the latest value per slot. Memory: 16 bytes x window/resolution per point.'),
        1000,
      ),
      store: v.optional(HistoryStoreSchema, {}),
    },
    'unknown setting',
  ),
  v.check(
    (h) => Math.ceil((h.window_s * 1000) / h.resolution_ms) <= MAX_HISTORY_SAMPLES,
    (issue) => {
      const h = issue.input as { window_s: number; resolution_ms: number };
      const n = Math.ceil((h.window_s * 1000) / h.resolution_ms);
      return `window_s / resolution_ms keeps ${n} samples per point; at most ${MAX_HISTORY_SAMPLES}: raise resolution_ms or shorten window_s`;
    },
  ),
);

export const LogSchema = v.strictObject(
  {
    level: v.optional(v.picklist(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`), 'info'),
  },
  'unknown setting',
);

/** The device schemas of the driver kinds, in the order of drivers/kinds.ts, with their types kept. */
type KindSchemas<T extends readonly unknown[]> = { -readonly [K in keyof T]: T[K] extends { schema: infer S } ? S : never };

export const DeviceSchema = v.variant(
  'driver',
  DRIVER_KINDS.map((k) => k.schema) as KindSchemas<typeof DRIVER_KINDS>,
  `driver must be one of: ${DRIVER_KINDS.map((k) => k.kind).join(', ')}`,
);

export const GatewayConfigSchema = v.strictObject(
  {
    server: v.optional(ServerSchema, {}),
    registry: v.optional(RegistrySchema, {}),
    history: v.optional(HistorySchema, {}),
    log: v.optional(LogSchema, {}),
    health: v.optional(HealthSchema, {}),
    auth: v.optional(AuthSchema, {}),
    limits: v.optional(LimitsSchema, {}),
    alarms: v.optional(AlarmSettingsSchema, {}),
    northbound: v.optional(NorthboundSchema, {}),
    state_dir: v.optional(text('Directory for the audit trail and other state. Default: $STATE_DIRECTORY (systemd), else ./state.')),
    buses: BusesSchema,
    devices: v.pipe(v.array(DeviceSchema, 'must be a list of devices'), v.minLength(1, 'must list at least one device')),
  },
  'unknown setting',
);

export type GatewayConfig = v.InferOutput<typeof GatewayConfigSchema>;
export type GatewayConfigInput = v.InferInput<typeof GatewayConfigSchema>;
export type DeviceConfig = GatewayConfig['devices'][number];
export type ServerConfig = GatewayConfig['server'];
