/**
 * Plain JSON topics, for consumers that are not Sparkplug hosts (Telegraf, Node-RED, Home
 * Assistant):
 *   <prefix>/status             retained "online" / "offline" (the Will says offline)
 *   <prefix>/<device>/state     retained: the device as GET /api/v1/devices/<id> shows it
 *   <prefix>/<device>/diff      QoS 1: every change, the WebSocket's device_update message;
 *                               stored ones carry "historical": true
 *   <prefix>/<device>/set       QoS 1, in: a write, the REST POST body ({"speed": 150})
 *   <prefix>/<device>/alarm/<alarm>          QoS 1: every transition of the alarm, the AlarmEvent
 *                                            (the WebSocket's `event`); stored ones carry "historical": true
 *   <prefix>/<device>/alarm/<alarm>/ack      QoS 1, in: acknowledge, as POST /api/v1/alarms/<id>/ack
 *                                            (body: empty, or {"comment": "..."})
 *   <prefix>/<device>/alarm/<alarm>/state    retained: the alarm as GET /api/v1/alarms/<id> shows it
 *                                            (every configured alarm, normal ones too; emptied when a
 *                                            reload removes the alarm)
 */
import type { Packet } from 'mqtt';
import type { DeviceDiff, Registry } from '../core/registry.js';
import { deviceUpdateMessage, deviceView } from '../server/protocol.js';
import type { OutMessage, Subscription } from './link.js';
import type { AlarmEvent } from '../protocol/alarms.js';
import type { AlarmSource, NorthboundMode } from './mode.js';
import type { CommandHandler } from './commands.js';
import { discoveryMessages } from './home-assistant.js';

export interface JsonModeOptions {
  prefix: string;
  clientId: string;
  registry: Registry;
  /** Set when commands are enabled. */
  commands?: CommandHandler | undefined;
  /** Home Assistant discovery prefix, when discovery is on. */
  discoveryPrefix?: string | undefined;
  /** The alarms' current state (retained per alarm). */
  alarms?: AlarmSource | undefined;
}

/** An alarm id as one topic level: MQTT's separators and wildcards cannot be in it. */
export function alarmTopicLevel(id: string): string {
  return id.replace(/[/+#\u0000]/g, '_');
}

export class JsonMode implements NorthboundMode {
  readonly clientId: string;
  private readonly prefix: string;
  /** Devices whose discovery configs went out in this session (a reload may add devices). */
  private readonly announced = new Set<string>();

  constructor(private readonly options: JsonModeOptions) {
    this.prefix = options.prefix;
    this.clientId = options.clientId;
  }

  will(): OutMessage {
    return { topic: `${this.prefix}/status`, payload: 'offline', qos: 1, retain: true };
  }

  subscriptions(): Subscription[] {
    if (this.options.commands === undefined) return [];
    return [
      { topic: `${this.prefix}/+/set`, qos: 1 },
      // Newer than the set topic: a broker ACL written before it may refuse it.
      { topic: `${this.prefix}/+/alarm/+/ack`, qos: 1, optional: true },
    ];
  }

  births(): OutMessage[] {
    const out: OutMessage[] = [];
    const { discoveryPrefix, registry } = this.options;
    this.announced.clear();
    if (discoveryPrefix !== undefined) {
      out.push(...discoveryMessages({ discoveryPrefix, prefix: this.prefix, registry }));
      for (const id of registry.ids()) this.announced.add(id);
    }
    out.push({ topic: `${this.prefix}/status`, payload: 'online', qos: 1, retain: true });
    for (const id of registry.ids()) out.push(this.state(id));
    out.push(...this.alarmStates());
    return out;
  }

  reannounce(): OutMessage[] {
    // The births are exactly the retained description of the gateway.
    return this.births();
  }

  live(diff: DeviceDiff): OutMessage[] {
    const { discoveryPrefix, registry } = this.options;
    if (discoveryPrefix !== undefined && !this.announced.has(diff.device_id)) {
      this.announced.add(diff.device_id);
      return [...discoveryMessages({ discoveryPrefix, prefix: this.prefix, registry, ids: [diff.device_id] }), ...this.liveMessages(diff)];
    }
    return this.liveMessages(diff);
  }

  private liveMessages(diff: DeviceDiff): OutMessage[] {
    return [
      { topic: `${this.prefix}/${diff.device_id}/diff`, payload: deviceUpdateMessage(diff), qos: 1, retain: false },
      this.state(diff.device_id),
    ];
  }

  historical(diff: DeviceDiff): OutMessage[] {
    const text = deviceUpdateMessage(diff);
    return [{ topic: `${this.prefix}/${diff.device_id}/diff`, payload: `{"historical":true,${text.slice(1)}`, qos: 1, retain: false }];
  }

  afterHistory(): OutMessage[] {
    // The births' retained state is older than the history just sent: state it again, current.
    return [...this.options.registry.ids().map((id) => this.state(id)), ...this.alarmStates()];
  }

  alarmLive(e: AlarmEvent): OutMessage[] {
    return [{ topic: this.alarmTopic(e.device_id, e.alarm_id), payload: JSON.stringify(e), qos: 1, retain: false }, this.alarmState(e.device_id, e.alarm_id)];
  }

  alarmHistorical(e: AlarmEvent): OutMessage[] {
    return [{ topic: this.alarmTopic(e.device_id, e.alarm_id), payload: JSON.stringify({ historical: true, ...e }), qos: 1, retain: false }];
  }

  private alarmTopic(deviceId: string, alarmId: string): string {
    return `${this.prefix}/${deviceId}/alarm/${alarmTopicLevel(alarmId)}`;
  }

  private alarmState(deviceId: string, alarmId: string): OutMessage {
    const view = this.options.alarms?.view(alarmId);
    // An alarm no longer configured: an empty retained message removes its state from the broker.
    return { topic: `${this.alarmTopic(deviceId, alarmId)}/state`, payload: view === undefined ? '' : JSON.stringify(view), qos: 1, retain: true };
  }

  private alarmStates(): OutMessage[] {
    return (this.options.alarms?.list({ all: true }) ?? []).map((a) => ({ topic: `${this.alarmTopic(a.device_id, a.id)}/state`, payload: JSON.stringify(a), qos: 1 as const, retain: true }));
  }

  farewell(): OutMessage[] {
    return [{ topic: `${this.prefix}/status`, payload: 'offline', qos: 1, retain: true }];
  }

  liveAllowed(): boolean {
    return true;
  }

  holdReason(): string {
    return '';
  }

  onMessage(topic: string, payload: Buffer, packet: Packet): void {
    const commands = this.options.commands;
    if (commands === undefined) return;
    const rest = topic.startsWith(`${this.prefix}/`) ? topic.slice(this.prefix.length + 1) : undefined;
    if (rest === undefined) return;
    const set = /^([^/]+)\/set$/.exec(rest);
    if (set !== null) {
      commands.jsonSet(set[1]!, payload, packet);
      return;
    }
    const ack = /^([^/]+)\/alarm\/([^/]+)\/ack$/.exec(rest);
    if (ack === null) return;
    // The alarm by its topic level (an id with "/", "+" or "#" has them as "_" there).
    const [, device, level] = ack as unknown as [string, string, string];
    const alarm = this.options.alarms?.list({ all: true, device }).find((a) => alarmTopicLevel(a.id) === level);
    commands.jsonAck(alarm?.id ?? `${device}/${level}`, payload, packet, `ack ${device}/${level}`);
  }

  counters(): Record<string, number> {
    return this.options.commands?.counters() ?? {};
  }

  private state(id: string): OutMessage {
    const snap = this.options.registry.snapshot(id);
    const payload = snap === undefined ? '' : JSON.stringify(deviceView(snap));
    return { topic: `${this.prefix}/${id}/state`, payload, qos: 1, retain: true };
  }
}
