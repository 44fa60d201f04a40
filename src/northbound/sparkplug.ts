/**
 * Sparkplug B 3.0 edge node: the gateway is the edge node, every device a Sparkplug device.
 *   NBIRTH/NDEATH   spBv1.0/<group>/NBIRTH|NDEATH/<edge>        bdSeq, Node Control/Rebirth
 *   DBIRTH/DDEATH   spBv1.0/<group>/DBIRTH|DDEATH/<edge>/<dev>  every point with its metadata
 *   DDATA           spBv1.0/<group>/DDATA/<edge>/<dev>          changed metrics by alias
 *   NCMD/DCMD       in: rebirth; writes through the control service
 *   STATE           spBv1.0/STATE/<primary host>                the host's online state (retained)
 * Alarms are metrics of their device, in a folder per alarm (`Alarms/<point>/<kind>/State`,
 * `.../Active`, `.../Acked`; `Alarms/offline/...` for the device's offline alarm): every one in
 * the DBIRTH with `Priority` and `Documentation` (the message) as properties, each transition a
 * DDATA. A dead device (after DDEATH) gets no DDATA, so its next DBIRTH carries what changed.
 * QoS as the specification says: births, data and commands QoS 0 and not retained, the NDEATH
 * Will QoS 1. Every metric carries the point's quality as the `Quality` property (192 good,
 * 500 stale, 0 bad, as Ignition reads it): a stale value never goes north looking good.
 */
import { join } from 'node:path';
import type { Packet } from 'mqtt';
import type { Logger } from 'pino';
import type { PointMeta } from '../core/points.js';
import type { DeviceDiff, Registry } from '../core/registry.js';
import type { CommandHandler } from './commands.js';
import type { OutMessage, Subscription } from './link.js';
import type { AlarmEvent, AlarmView } from '../protocol/alarms.js';
import type { AlarmSource, ModeHost, NorthboundMode } from './mode.js';
import { SparkplugSession } from './session.js';
import { DataType, type PropertyValue, birthProperties, datatypeOf, decodePayload, encodePayload, qualityValue, setValue, valueFor, type Metric } from './sparkplug-payload.js';

const NS = 'spBv1.0';
const REBIRTH = 'Node Control/Rebirth';

export interface SparkplugModeOptions {
  groupId: string;
  edgeNodeId: string;
  primaryHostId?: string | undefined;
  clientId: string;
  registry: Registry;
  stateDir: string;
  commands?: CommandHandler | undefined;
  /** The alarms' current state (for DBIRTH). */
  alarms?: AlarmSource | undefined;
  host: ModeHost;
  log: Logger;
}

interface Born {
  /** point name -> alias, and back */
  alias: Map<string, number>;
  byAlias: Map<number, string>;
  datatype: Map<string, number>;
  /** Alarm ids whose metrics this DBIRTH announced. */
  alarms: Set<string>;
  /** Alarm metric name (`Alarms/speed/hi/Acked`) -> its alarm and which of its three metrics. */
  alarmMetrics: Map<string, { alarmId: string; leaf: 'State' | 'Active' | 'Acked' }>;
}

/** The metric folder of an alarm within its device: `Alarms/current/hi`, `Alarms/fault/overheat`, `Alarms/offline`. */
export function alarmFolder(deviceId: string, alarmId: string): string {
  const local = alarmId.startsWith(`${deviceId}.`) ? alarmId.slice(deviceId.length + 1) : alarmId;
  const dot = local.indexOf('.');
  return `Alarms/${dot < 0 ? local : `${local.slice(0, dot)}/${local.slice(dot + 1)}`}`;
}

export class SparkplugMode implements NorthboundMode {
  readonly clientId: string;
  private readonly session: SparkplugSession;
  private readonly topicBase: string;
  private born = new Map<string, Born>();
  /** Devices whose DDEATH is the last word: no DDATA until their next DBIRTH. */
  private dead = new Set<string>();
  private nextAlias = 1;
  private hostOnline: boolean;
  private hostSeen = false;
  private readonly c = { births_total: 0, rebirth_requests_total: 0, ddata_total: 0, alarm_ddata_total: 0, host_online: 0 };

  constructor(private readonly options: SparkplugModeOptions) {
    this.clientId = options.clientId;
    this.session = new SparkplugSession(join(options.stateDir, 'northbound', 'bdseq'));
    this.topicBase = `${NS}/${options.groupId}`;
    this.hostOnline = options.primaryHostId === undefined;
    this.c.host_online = this.hostOnline ? 1 : 0;
  }

  will(): OutMessage {
    const bdSeq = this.session.nextBdSeq();
    // Not reachable while connected: the broker sends it when the connection dies.
    return { topic: `${this.topicBase}/NDEATH/${this.options.edgeNodeId}`, payload: encodePayload({ timestamp: Date.now(), metrics: [bdSeqMetric(bdSeq)] }), qos: 1, retain: false };
  }

  subscriptions(): Subscription[] {
    const subs: Subscription[] = [{ topic: `${this.topicBase}/NCMD/${this.options.edgeNodeId}`, qos: 0 }];
    if (this.options.commands !== undefined) subs.push({ topic: `${this.topicBase}/DCMD/${this.options.edgeNodeId}/+`, qos: 0 });
    if (this.options.primaryHostId !== undefined) subs.push({ topic: `${NS}/STATE/${this.options.primaryHostId}`, qos: 1 });
    return subs;
  }

  births(): OutMessage[] {
    const now = Date.now();
    this.born.clear();
    this.dead.clear();
    this.nextAlias = 1;
    this.c.births_total++;
    const out: OutMessage[] = [
      this.message('NBIRTH', undefined, {
        timestamp: now,
        seq: this.session.birthSeq(),
        metrics: [bdSeqMetric(this.session.bdSeq), { name: REBIRTH, timestamp: now, datatype: DataType.Boolean, booleanValue: false }],
      }),
    ];
    for (const id of this.options.registry.ids()) out.push(this.dbirth(id));
    return out;
  }

  live(diff: DeviceDiff): OutMessage[] {
    const id = diff.device_id;
    if (diff.new_state['online'] === false) return [this.ddeath(id)];
    if (!this.born.has(id) || diff.new_state['online'] === true) return [this.dbirth(id)];
    const m = this.ddata(diff, false);
    return m === undefined ? [] : [m];
  }

  historical(diff: DeviceDiff): OutMessage[] {
    // Reachability is current in the births; only values and qualities are history.
    if (!this.born.has(diff.device_id)) return [];
    const m = this.ddata(diff, true);
    return m === undefined ? [] : [m];
  }

  alarmLive(e: AlarmEvent): OutMessage[] {
    const id = e.device_id;
    if (this.options.registry.descriptor(id) === undefined || this.dead.has(id)) return [];
    const born = this.born.get(id);
    if (born === undefined || !born.alarms.has(e.alarm_id)) {
      // A device or alarm the last births did not have (a reload added it): born afresh, with it.
      return e.transition === 'removed' ? [] : [this.dbirth(id)];
    }
    // Sparkplug has no way to take one metric back but a new DBIRTH without it.
    if (e.transition === 'removed') return [this.dbirth(id)];
    return [this.alarmData(e, born, false)];
  }

  alarmHistorical(e: AlarmEvent): OutMessage[] {
    const born = this.born.get(e.device_id);
    if (born === undefined || !born.alarms.has(e.alarm_id) || e.transition === 'removed') return [];
    return [this.alarmData(e, born, true)];
  }

  afterHistory(): OutMessage[] {
    return this.options.registry
      .list()
      .filter((d) => !d.online && this.born.has(d.device_id))
      .map((d) => this.ddeath(d.device_id));
  }

  farewell(): OutMessage[] {
    // The NDEATH of this session, as the Will would say it, before the clean disconnect.
    return [{ topic: `${this.topicBase}/NDEATH/${this.options.edgeNodeId}`, payload: encodePayload({ timestamp: Date.now(), metrics: [bdSeqMetric(this.session.bdSeq)] }), qos: 1, retain: false }];
  }

  liveAllowed(): boolean {
    return this.hostOnline;
  }

  holdReason(): string {
    return `primary host ${this.options.primaryHostId ?? ''} is ${this.hostSeen ? 'offline' : 'not seen yet'}; data is stored`;
  }

  counters(): Record<string, number> {
    return { ...this.c, ...(this.options.commands?.counters() ?? {}) };
  }

  /**
   * A new session knows nothing of the primary host until its STATE arrives again (retained, right
   * after the subscription): a broker that restarted without persistence has none, and births sent
   * before the host is back would reach nobody (Sparkplug 3.0: wait for STATE before NBIRTH).
   */
  sessionEnded(): void {
    if (this.options.primaryHostId === undefined) return;
    this.hostOnline = false;
    this.hostSeen = false;
    this.c.host_online = 0;
  }

  /** A device a reload removed: its death, and no more data for it. */
  forget(deviceId: string): OutMessage[] {
    if (!this.born.has(deviceId)) return [];
    const m = this.ddeath(deviceId);
    this.born.delete(deviceId);
    this.dead.delete(deviceId);
    return [m];
  }

  onMessage(topic: string, payload: Buffer, packet: Packet): void {
    const parts = topic.split('/');
    if (parts[1] === 'STATE') {
      this.hostState(payload);
      return;
    }
    const kind = parts[2];
    if (kind === 'NCMD' && parts.length === 4) this.ncmd(payload);
    else if (kind === 'DCMD' && parts.length === 5) this.dcmd(parts[4]!, payload, packet);
  }

  private hostState(payload: Buffer): void {
    const text = payload.toString('utf8');
    let online: boolean | undefined;
    // 3.0: {"online": true, "timestamp": ...}; earlier hosts: ONLINE / OFFLINE.
    try {
      const j = JSON.parse(text) as { online?: unknown };
      if (typeof j.online === 'boolean') online = j.online;
    } catch {
      if (text === 'ONLINE') online = true;
      if (text === 'OFFLINE') online = false;
    }
    if (online === undefined) {
      this.options.log.warn({ host: this.options.primaryHostId }, 'primary host STATE message not understood; ignored');
      return;
    }
    this.hostSeen = true;
    if (online === this.hostOnline) return;
    this.hostOnline = online;
    this.c.host_online = online ? 1 : 0;
    this.options.log.info({ host: this.options.primaryHostId, online }, online ? 'primary host online: births, then stored data' : 'primary host offline: storing data until it is back');
    this.options.host.gateChanged();
  }

  private ncmd(payload: Buffer): void {
    let metrics: Metric[];
    try {
      metrics = decodePayload(payload).metrics ?? [];
    } catch {
      this.options.commands?.malformed('NCMD', 'payload is not a Sparkplug B payload');
      return;
    }
    const rebirth = metrics.some((m) => (m.name === REBIRTH || m.alias === 0) && m.booleanValue === true);
    if (!rebirth) return;
    this.c.rebirth_requests_total++;
    this.options.log.info({}, 'rebirth requested (NCMD)');
    this.options.host.rebirth();
  }

  private dcmd(deviceId: string, payload: Buffer, packet: Packet): void {
    const commands = this.options.commands;
    if (commands === undefined) return;
    const where = `DCMD ${deviceId.slice(0, 64)}`;
    if (payload.length > 1_048_576) {
      commands.malformed(where, 'payload too large');
      return;
    }
    let metrics: Metric[];
    try {
      metrics = decodePayload(payload).metrics ?? [];
    } catch {
      commands.malformed(where, 'payload is not a Sparkplug B payload');
      return;
    }
    const desc = this.options.registry.descriptor(deviceId);
    const born = this.born.get(deviceId);
    const values: Record<string, unknown> = {};
    const acks: { alarmId: string; name: string }[] = [];
    for (const m of metrics) {
      const name = m.name ?? (m.alias !== undefined ? born?.byAlias.get(m.alias) : undefined);
      if (name === undefined) {
        commands.malformed(where, `a metric has neither a name nor a known alias (${String(m.alias)})`);
        return;
      }
      const alarm = born?.alarmMetrics.get(name);
      if (alarm !== undefined) {
        if (alarm.leaf !== 'Acked' || m.booleanValue !== true) {
          commands.malformed(where, `${name} cannot be written: an alarm is acknowledged by writing true (Boolean) to its Acked metric, and nothing else of it is writable`);
          return;
        }
        acks.push({ alarmId: alarm.alarmId, name });
        continue;
      }
      const meta: PointMeta | undefined = desc !== undefined && Object.hasOwn(desc.points, name) ? desc.points[name] : undefined;
      values[name] = meta === undefined ? (m.stringValue ?? m.doubleValue ?? m.floatValue ?? m.intValue ?? m.longValue ?? m.booleanValue ?? null) : valueFor(meta, m);
    }
    if (Object.keys(values).length > 0 || acks.length === 0) void commands.write(deviceId, values, packet, where);
    for (const a of acks) void commands.ack(a.alarmId, packet, `${where} ${a.name}`);
  }

  private dbirth(id: string): OutMessage {
    const snap = this.options.registry.snapshot(id);
    const desc = this.options.registry.descriptor(id);
    const now = Date.now();
    const born: Born = { alias: new Map(), byAlias: new Map(), datatype: new Map(), alarms: new Set(), alarmMetrics: new Map() };
    const metrics: Metric[] = [];
    if (snap !== undefined && desc !== undefined) {
      const ts = snap.last_update === null ? now : Math.round(snap.last_update * 1000);
      for (const [name, meta] of Object.entries(desc.points)) {
        const alias = this.aliasFor(id, name);
        const datatype = datatypeOf(meta);
        born.alias.set(name, alias);
        born.byAlias.set(alias, name);
        born.datatype.set(name, datatype);
        const m: Metric = { name, alias, timestamp: ts, datatype, properties: birthProperties(meta, snap.quality[name]) };
        setValue(m, datatype, meta, Object.hasOwn(snap.state, name) ? snap.state[name]! : null);
        metrics.push(m);
      }
      for (const a of this.options.alarms?.list({ all: true, device: id }) ?? []) metrics.push(...this.alarmBirth(id, a, born));
    }
    this.born.set(id, born);
    this.dead.delete(id);
    return this.message('DBIRTH', id, { timestamp: now, seq: this.session.nextSeq(), metrics });
  }

  private aliasFor(id: string, name: string): number {
    // Aliases are unique across the edge node and stable within a session.
    const prev = this.born.get(id)?.alias.get(name);
    return prev ?? this.nextAlias++;
  }

  /** The three metrics of one alarm in a DBIRTH: state, active, acked; priority and message as properties. */
  private alarmBirth(id: string, a: AlarmView, born: Born): Metric[] {
    const folder = alarmFolder(id, a.id);
    const ts = Math.round(a.last_change * 1000);
    const priority: PropertyValue = { type: DataType.String, stringValue: a.priority };
    const out: Metric[] = [];
    for (const [leaf, datatype, value] of [
      ['State', DataType.String, a.state],
      ['Active', DataType.Boolean, a.active],
      ['Acked', DataType.Boolean, a.acked],
    ] as const) {
      const name = `${folder}/${leaf}`;
      const alias = this.aliasFor(id, name);
      born.alias.set(name, alias);
      born.byAlias.set(alias, name);
      born.datatype.set(name, datatype);
      born.alarmMetrics.set(name, { alarmId: a.id, leaf });
      // Acked is the one a host writes (true: acknowledge), as points say with readOnly.
      const readOnly: PropertyValue = { type: DataType.Boolean, booleanValue: leaf !== 'Acked' };
      const properties =
        leaf === 'State'
          ? { keys: ['Priority', 'Documentation', 'readOnly'], values: [priority, { type: DataType.String, stringValue: a.message }, readOnly] }
          : { keys: ['Priority', 'readOnly'], values: [priority, readOnly] };
      out.push({ name, alias, timestamp: ts, datatype, properties, ...(typeof value === 'string' ? { stringValue: value } : { booleanValue: value }) });
    }
    born.alarms.add(a.id);
    return out;
  }

  /** One transition: the alarm's three metrics by alias, at the time of the transition. */
  private alarmData(e: AlarmEvent, born: Born, historical: boolean): OutMessage {
    const folder = alarmFolder(e.device_id, e.alarm_id);
    const ts = Math.round(e.time * 1000);
    const metrics: Metric[] = [
      { alias: born.alias.get(`${folder}/State`)!, timestamp: ts, datatype: DataType.String, stringValue: e.to },
      { alias: born.alias.get(`${folder}/Active`)!, timestamp: ts, datatype: DataType.Boolean, booleanValue: e.active },
      { alias: born.alias.get(`${folder}/Acked`)!, timestamp: ts, datatype: DataType.Boolean, booleanValue: e.acked },
    ];
    if (historical) for (const m of metrics) m.isHistorical = true;
    this.c.alarm_ddata_total++;
    return this.message('DDATA', e.device_id, { timestamp: Date.now(), seq: this.session.nextSeq(), metrics });
  }

  private ddeath(id: string): OutMessage {
    this.dead.add(id);
    return this.message('DDEATH', id, { timestamp: Date.now(), seq: this.session.nextSeq(), metrics: [] });
  }

  private ddata(diff: DeviceDiff, historical: boolean): OutMessage | undefined {
    const born = this.born.get(diff.device_id);
    const desc = this.options.registry.descriptor(diff.device_id);
    if (born === undefined || desc === undefined) return undefined;
    const ts = Math.round(diff.timestamp * 1000);
    const snap = historical ? undefined : this.options.registry.snapshot(diff.device_id);
    const names = new Set<string>();
    for (const k of Object.keys(diff.new_state)) if (k !== 'online') names.add(k);
    for (const k of Object.keys(diff.quality ?? {})) names.add(k);
    const metrics: Metric[] = [];
    for (const name of names) {
      const alias = born.alias.get(name);
      const meta = desc.points[name];
      if (alias === undefined || meta === undefined) continue;
      const datatype = born.datatype.get(name)!;
      const m: Metric = { alias, timestamp: ts, datatype, properties: { keys: ['Quality'], values: [qualityValue(diff.quality?.[name] ?? (Object.hasOwn(diff.new_state, name) ? 'good' : snap?.quality[name]))] } };
      if (historical) m.isHistorical = true;
      // A quality-only change repeats the value the point keeps (the last good reading).
      const value = Object.hasOwn(diff.new_state, name) ? diff.new_state[name]! : (snap?.state[name] ?? null);
      setValue(m, datatype, meta, value as never);
      metrics.push(m);
    }
    if (metrics.length === 0) return undefined;
    this.c.ddata_total++;
    return this.message('DDATA', diff.device_id, { timestamp: Date.now(), seq: this.session.nextSeq(), metrics });
  }

  private message(kind: string, deviceId: string | undefined, payload: Parameters<typeof encodePayload>[0]): OutMessage {
    const topic = `${this.topicBase}/${kind}/${this.options.edgeNodeId}${deviceId === undefined ? '' : `/${deviceId}`}`;
    return { topic, payload: encodePayload(payload), qos: 0, retain: false };
  }
}

function bdSeqMetric(bdSeq: number): Metric {
  return { name: 'bdSeq', timestamp: Date.now(), datatype: DataType.Int64, longValue: bdSeq };
}
