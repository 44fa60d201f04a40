/**
 * Builds the northbound publisher from the config (undefined when `northbound.enabled` is false).
 * The composition root adds it as one more consumer of registry diffs.
 */
import type { Logger } from 'pino';
import type { AlarmEvent } from '../protocol/alarms.js';
import type { GatewayConfig } from '../config/schema.js';
import type { ControlService } from '../core/control.js';
import type { Registry } from '../core/registry.js';
import type { AuditLog } from '../platform/audit.js';
import type { TokenStore } from '../server/auth.js';
import { CommandHandler, type AlarmAcknowledger } from './commands.js';
import { JsonMode } from './json.js';
import { NorthboundPublisher } from './publisher.js';
import { SparkplugMode } from './sparkplug.js';
import type { AlarmSource } from './mode.js';

export interface NorthboundDeps {
  config: GatewayConfig;
  stateDir: string;
  registry: Registry;
  control: ControlService;
  audit: AuditLog;
  tokens: () => TokenStore;
  log: Logger;
  /** The alarm table: its transitions go north in order with the diffs, its state in the births. */
  alarms?: AlarmSource & { onEvent(listener: (e: AlarmEvent) => void): unknown };
  /** Acknowledgements from the broker go through the alarm service, audited like the REST ones. */
  alarmActions?: AlarmAcknowledger;
}

export function createNorthbound(deps: NorthboundDeps): NorthboundPublisher | undefined {
  const nb = deps.config.northbound;
  const mqtt = nb.mqtt;
  if (!nb.enabled || mqtt === undefined) return undefined;
  const log = deps.log.child({ module: 'northbound' });
  const commands = nb.commands.enabled
    ? new CommandHandler({ config: nb.commands, control: deps.control, audit: deps.audit, alarms: deps.alarmActions, tokens: deps.tokens, log })
    : undefined;
  const publisher = new NorthboundPublisher({
    config: { ...nb, mqtt },
    stateDir: deps.stateDir,
    log,
    mode: (host) => {
      if (nb.mode === 'sparkplug') {
        const sp = nb.sparkplug!;
        return new SparkplugMode({
          groupId: sp.group_id,
          edgeNodeId: sp.edge_node_id,
          primaryHostId: sp.primary_host_id,
          clientId: mqtt.client_id ?? `mgw-${sp.group_id}-${sp.edge_node_id}`,
          registry: deps.registry,
          stateDir: deps.stateDir,
          commands,
          alarms: deps.alarms,
          host,
          log,
        });
      }
      return new JsonMode({
        prefix: nb.json.prefix,
        clientId: mqtt.client_id ?? `mgw-${nb.json.prefix.replace(/\//g, '-')}`,
        registry: deps.registry,
        commands,
        discoveryPrefix: nb.json.home_assistant ? nb.json.discovery_prefix : undefined,
        alarms: deps.alarms,
      });
    },
  });
  deps.alarms?.onEvent((e) => publisher.onAlarm(e));
  return publisher;
}
