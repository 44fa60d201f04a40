/**
 * The `northbound:` section: publishing every device to a plant MQTT broker, as a Sparkplug B
 * edge node or as plain JSON topics. Off unless `enabled: true`. A change to this section takes
 * effect on restart (src/config/diff.ts lists it after a reload).
 */
import * as v from 'valibot';
import { int, text } from '../config/fields.js';
import { ROLES } from '../server/auth-config.js';

/** MQTT topic levels we build from config: no wildcards, no separators inside one level. */
const topicLevel = (description: string) =>
  v.pipe(
    v.string('must be a string'),
    v.regex(/^[^/#+\u0000]{1,64}$/, 'must be 1-64 characters without "/", "#" or "+"'),
    v.description(description),
  );

const MqttSchema = v.strictObject(
  {
    url: v.pipe(
      v.string('must be a string'),
      v.regex(/^(mqtt|mqtts|tcp|ssl|tls):\/\/[^\s/]+(:\d{1,5})?\/?$/, 'must be mqtt://host:port or mqtts://host:port (TLS)'),
      v.description('The broker: mqtt://host:1883, or mqtts://host:8883 for TLS.'),
    ),
    client_id: v.optional(
      v.pipe(v.string('must be a string'), v.regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-", "." or ":"'), v.description('MQTT client id; default mgw-<edge node or prefix>.')),
    ),
    protocol_version: v.optional(v.pipe(v.picklist([4, 5] as const, 'must be 4 (MQTT 3.1.1) or 5 (MQTT 5)'), v.description('MQTT protocol level.')), 5),
    username: v.optional(text('Broker user name.')),
    password_file: v.optional(text('File holding the broker password (first line), so the config holds no secret.')),
    ca_file: v.optional(text('PEM CA bundle that signed the broker certificate (mqtts://).')),
    cert_file: v.optional(text('PEM client certificate, for brokers that require one.')),
    key_file: v.optional(text('PEM private key of cert_file.')),
    keepalive_s: v.optional(int(5, 3600, 'MQTT keepalive (s): the broker declares the gateway dead (Will) after 1.5 x this without a packet.'), 30),
    connect_timeout_ms: v.optional(int(500, 120_000, 'How long one connection attempt may take (ms).'), 10_000),
    reconnect_min_ms: v.optional(int(100, 600_000, 'First delay before reconnecting (ms); doubles per failed attempt, with jitter.'), 1000),
    reconnect_max_ms: v.optional(int(100, 3_600_000, 'Longest delay between reconnect attempts (ms).'), 30_000),
    max_inflight: v.optional(
      int(1, 1_000_000, 'Live changes awaiting the broker (written, or PUBACK for QoS 1) at most. Past it a broker slower than the changes would pile them up in memory; they wait in the store instead and follow in order, as live data.'),
      10_000,
    ),
  },
  'unknown setting',
);

const SparkplugSchema = v.strictObject(
  {
    group_id: topicLevel('Sparkplug group id (the plant, area or line).'),
    edge_node_id: topicLevel('Sparkplug edge node id: this gateway, unique in its group.'),
    primary_host_id: v.optional(topicLevel('Host application whose spBv1.0/STATE/<id> the gateway watches: while it is offline data is stored, then forwarded as historical.')),
  },
  'unknown setting',
);

const JsonSchema = v.strictObject(
  {
    prefix: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.regex(/^[^#+\u0000]{1,200}$/, 'must be 1-200 characters without "#" or "+"'),
        v.check((p) => !p.startsWith('/') && !p.endsWith('/') && !p.includes('//'), 'must not start or end with "/" nor have empty levels'),
        v.description('Topic prefix: <prefix>/<device>/state, /diff, /set and <prefix>/status.'),
      ),
      'mgw',
    ),
    home_assistant: v.optional(
      v.pipe(v.boolean('must be true or false'), v.description('Publish Home Assistant MQTT discovery configs (retained), so every point shows up in Home Assistant by itself.')),
      false,
    ),
    discovery_prefix: v.optional(
      v.pipe(v.string('must be a string'), v.regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, "_" or "-"'), v.description("Home Assistant's discovery prefix.")),
      'homeassistant',
    ),
  },
  'unknown setting',
);

const StoreSchema = v.strictObject(
  {
    max_bytes: v.optional(int(65_536, 4_294_967_296, 'Most bytes kept while the broker (or primary host) is away; past it the oldest records are dropped and counted. Held in memory too.'), 16_777_216),
    segment_bytes: v.optional(int(4096, 67_108_864, 'Size of one store file; forwarded and dropped data is removed a file at a time.'), 1_048_576),
    fsync_interval_ms: v.optional(int(0, 60_000, 'Longest time stored data waits for fsync (ms): a power cut loses at most this much; a crash of the process loses nothing written.'), 1000),
  },
  'unknown setting',
);

const CommandsSchema = v.strictObject(
  {
    enabled: v.optional(v.pipe(v.boolean('must be true or false'), v.description('Accept writes from the broker (Sparkplug DCMD, JSON <prefix>/<device>/set).')), false),
    identity: v.optional(
      v.pipe(
        v.string('must be a string'),
        v.regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-", "." or "@"'),
        v.description('Who a command that presents no token acts as, in the audit trail and the logs.'),
      ),
      'mqtt',
    ),
    role: v.optional(
      v.pipe(
        v.picklist(ROLES, `must be one of ${ROLES.join(', ')}`),
        v.description('Role of a command that presents no token. viewer refuses every write; operator trusts the broker ACL on the command topics. A command can present an API token (auth.tokens) in the MQTT 5 user property "token" to act with its name and role.'),
      ),
      'viewer',
    ),
    max_payload_bytes: v.optional(int(16, 1_048_576, 'Largest command payload; larger is refused and counted.'), 16_384),
  },
  'unknown setting',
);

export const NorthboundSchema = v.pipe(
  v.strictObject(
    {
      enabled: v.optional(v.pipe(v.boolean('must be true or false'), v.description('Publish to the broker. Default false.')), false),
      mode: v.optional(v.pipe(v.picklist(['sparkplug', 'json'] as const, 'must be sparkplug or json'), v.description('sparkplug: Sparkplug B 3.0 edge node. json: plain JSON topics.')), 'json'),
      mqtt: v.optional(MqttSchema),
      sparkplug: v.optional(SparkplugSchema),
      json: v.optional(JsonSchema, {}),
      store: v.optional(StoreSchema, {}),
      commands: v.optional(CommandsSchema, {}),
    },
    'unknown setting',
  ),
);

export type NorthboundConfig = v.InferOutput<typeof NorthboundSchema>;
export type MqttConfig = v.InferOutput<typeof MqttSchema>;
export type SparkplugConfig = v.InferOutput<typeof SparkplugSchema>;
export type StoreConfig = v.InferOutput<typeof StoreSchema>;
export type CommandsConfig = v.InferOutput<typeof CommandsSchema>;

/** Rules across fields, each with its path, for the loader. */
export function northboundProblems(n: NorthboundConfig | undefined): string[] {
  if (n === undefined || !n.enabled) return [];
  const problems: string[] = [];
  if (n.mqtt === undefined) problems.push('northbound.mqtt: is required when northbound.enabled is true (at least url)');
  if (n.mode === 'sparkplug' && n.sparkplug === undefined) problems.push('northbound.sparkplug: is required in mode sparkplug (group_id, edge_node_id)');
  const m = n.mqtt;
  if (m !== undefined) {
    if (m.reconnect_max_ms < m.reconnect_min_ms) problems.push(`northbound.mqtt.reconnect_max_ms: must be >= reconnect_min_ms (${m.reconnect_min_ms})`);
    if ((m.cert_file === undefined) !== (m.key_file === undefined)) problems.push(`northbound.mqtt.${m.cert_file === undefined ? 'cert_file' : 'key_file'}: cert_file and key_file go together`);
    if (m.password_file !== undefined && m.username === undefined) problems.push('northbound.mqtt.username: is required with password_file');
    const tls = /^(mqtts|ssl|tls):/.test(m.url);
    if (!tls && (m.ca_file !== undefined || m.cert_file !== undefined)) problems.push('northbound.mqtt.url: ca_file and cert_file need a TLS url (mqtts://)');
  }
  if (n.store.segment_bytes > n.store.max_bytes) problems.push(`northbound.store.segment_bytes: must be <= max_bytes (${n.store.max_bytes})`);
  return problems;
}
