/**
 * The `limits:` section: how much one client may ask of the gateway. The defaults let an HMI
 * and a technician's CLI work without ever meeting a limit, while a runaway script is slowed
 * down and then disconnected instead of starving the other clients.
 */
import * as v from 'valibot';
import { int } from '../config/fields.js';

export const LimitsSchema = v.strictObject(
  {
    ws_messages_per_s: v.optional(int(1, 1_000_000, 'WebSocket messages one connection may send per second, sustained (token bucket).'), 20),
    ws_message_burst: v.optional(int(1, 1_000_000, 'Messages one connection may send at once before the rate applies.'), 40),
    ws_refusals_before_close: v.optional(
      int(1, 1_000_000, 'Messages refused with rate_limited (within about 10 s) before the connection is closed with 1008.'),
      100,
    ),
    ws_connections_per_token: v.optional(
      int(1, 100_000, 'WebSocket connections one token may hold at once (server.max_connections is the total).'),
      20,
    ),
    ws_connections_per_address: v.optional(
      int(1, 100_000, 'WebSocket connections one remote address may hold at once (a panel PC, a NAT); loopback is not counted.'),
      40,
    ),
    ws_reserved_connections: v.optional(
      int(0, 100_000, 'The last connections of server.max_connections, kept for operator and admin tokens (viewers are refused before).'),
      10,
    ),
    max_subscriptions: v.optional(int(1, 1_000_000, 'Devices one WebSocket connection may be subscribed to at once.'), 1000),
    rest_writes_per_s: v.optional(int(1, 1_000_000, 'Control writes (POST) per second per token (per address without tokens), sustained.'), 10),
    rest_write_burst: v.optional(int(1, 1_000_000, 'Control writes one token may send at once before the rate applies.'), 20),
  },
  'unknown setting',
);

export type LimitsConfig = v.InferOutput<typeof LimitsSchema>;

export const DEFAULT_LIMITS: LimitsConfig = v.parse(LimitsSchema, {});
