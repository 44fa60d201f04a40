/**
 * The alarm table: one record per configured alarm, moved through the ISA-18.2 machine
 * (machine.ts) by the evaluator (conditions) and by operators (ack, shelve, ...). Every
 * transition becomes an AlarmEvent with the next gateway-wide seq, kept in a bounded replay
 * ring for WebSocket resumes and handed synchronously to every listener (journal, state file,
 * WebSocket topic, metrics, and later the northbound publishers).
 *
 * Shelving is time-limited: each shelved alarm holds one timer that unshelves it when it runs out.
 */
import { GatewayError } from '../core/errors.js';
import { NORMAL, stateOf, step, type MachineInput, type MachineRecord } from './machine.js';
import type { AlarmDefinition } from './definitions.js';
import { isUnacked, type AlarmActor, type AlarmEvent, type AlarmTransition, type AlarmValue, type AlarmView } from '../protocol/alarms.js';

interface AlarmRecord extends MachineRecord {
  def: AlarmDefinition;
  value: AlarmValue;
  /** ms since the epoch */
  activeSince: number | null;
  lastChange: number;
  shelvedUntil: number | null;
  shelvedBy: string | null;
  comment: string | null;
  expiry: ReturnType<typeof setTimeout> | undefined;
}

/** What survives a restart of one alarm (in the state file). */
export interface PersistedAlarm {
  id: string;
  active: boolean;
  acked: boolean;
  shelved: boolean;
  out_of_service: boolean;
  value: AlarmValue;
  active_since: number | null;
  last_change: number;
  shelved_until: number | null;
  shelved_by: string | null;
  comment: string | null;
}

export interface PersistedTable {
  seq: number;
  alarms: PersistedAlarm[];
}

export interface AlarmTableOptions {
  /** Transitions kept for WebSocket resumes (count). */
  replaySize?: number;
  /** Longest shelving an operator may ask for (s). */
  maxShelveS: number;
  now?: () => number;
}

export type AlarmListener = (e: AlarmEvent) => void;

export interface AlarmFilter {
  device?: string | undefined;
  priority?: string | undefined;
  state?: string | undefined;
  /** Include alarms in state normal (default: only those that are not). */
  all?: boolean | undefined;
}

export class AlarmTable {
  private readonly records = new Map<string, AlarmRecord>();
  private readonly listeners: AlarmListener[] = [];
  private readonly ring: AlarmEvent[] = [];
  private readonly replaySize: number;
  private readonly now: () => number;
  private lastSeq = 0;

  constructor(private readonly options: AlarmTableOptions) {
    this.replaySize = options.replaySize ?? 1000;
    this.now = options.now ?? Date.now;
  }

  get seq(): number {
    return this.lastSeq;
  }

  onEvent(listener: AlarmListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Sets what is configured. Records of alarms still configured are kept (with the restored
   * state on the first call); an alarm no longer configured that was not normal leaves with a
   * `removed` event. Shelvings that ran out while the gateway was down expire now.
   */
  load(definitions: readonly AlarmDefinition[], restored?: PersistedTable): void {
    if (restored !== undefined) this.lastSeq = Math.max(this.lastSeq, restored.seq);
    const saved = new Map((restored?.alarms ?? []).map((a) => [a.id, a]));
    const keep = new Set(definitions.map((d) => d.id));
    const t = this.now();
    for (const [id, r] of this.records) {
      if (keep.has(id)) continue;
      clearTimeout(r.expiry);
      this.records.delete(id);
      const from = stateOf(r);
      if (from !== 'normal') this.emit(r, 'removed', from, null, null, t);
    }
    for (const def of definitions) {
      const existing = this.records.get(def.id);
      if (existing !== undefined) {
        existing.def = def;
        continue;
      }
      const s = saved.get(def.id);
      const r: AlarmRecord = {
        ...NORMAL,
        def,
        value: null,
        activeSince: null,
        lastChange: t,
        shelvedUntil: null,
        shelvedBy: null,
        comment: null,
        expiry: undefined,
      };
      if (s !== undefined) {
        Object.assign(r, {
          active: s.active,
          acked: s.acked,
          shelved: s.shelved,
          outOfService: s.out_of_service,
          value: s.value,
          activeSince: s.active_since === null ? null : s.active_since * 1000,
          lastChange: s.last_change * 1000,
          shelvedUntil: s.shelved_until === null ? null : s.shelved_until * 1000,
          shelvedBy: s.shelved_by,
          comment: s.comment,
        });
      }
      this.records.set(def.id, r);
      if (r.shelved) this.armExpiry(r);
    }
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  /** The condition as the table knows it (true also while shelved or out of service). */
  isActive(id: string): boolean {
    return this.records.get(id)?.active ?? false;
  }

  definition(id: string): AlarmDefinition | undefined {
    return this.records.get(id)?.def;
  }

  /** The evaluator's input: the condition is (or is no longer) present, because of `value`. */
  condition(id: string, active: boolean, value: AlarmValue): void {
    const r = this.records.get(id);
    if (r === undefined || r.active === active) return;
    r.value = value;
    this.apply(r, { kind: 'condition', active }, null, null);
  }

  ack(id: string, by: AlarmActor, comment: string | null = null): AlarmView {
    return this.operate(id, { kind: 'ack' }, by, comment);
  }

  /** Acknowledges every unacknowledged alarm matching the filter; returns the ones it did. */
  ackAll(filter: AlarmFilter, by: AlarmActor, comment: string | null = null): AlarmView[] {
    const out: AlarmView[] = [];
    for (const r of this.records.values()) {
      if (!isUnacked({ state: stateOf(r) }) || !matches(r, filter)) continue;
      out.push(this.operate(r.def.id, { kind: 'ack' }, by, comment));
    }
    return out;
  }

  shelve(id: string, forS: number, by: AlarmActor, comment: string | null = null): AlarmView {
    if (!Number.isFinite(forS) || forS <= 0) throw new GatewayError('invalid_request', 'the shelving time must be a positive duration, e.g. "30m"');
    if (forS > this.options.maxShelveS) {
      throw new GatewayError('validation_error', `${id}: an alarm may be shelved for at most ${formatSeconds(this.options.maxShelveS)} (alarms.max_shelve_s); asked ${formatSeconds(forS)}`, {
        details: { rule: 'max_shelve_s' },
      });
    }
    const r = this.record(id);
    const until = this.now() + forS * 1000;
    const view = this.operate(id, { kind: 'shelve' }, by, comment, () => {
      r.shelvedUntil = until;
      r.shelvedBy = by.token;
    });
    this.armExpiry(r);
    return view;
  }

  unshelve(id: string, by: AlarmActor, comment: string | null = null): AlarmView {
    return this.operate(id, { kind: 'unshelve', expired: false }, by, comment);
  }

  outOfService(id: string, by: AlarmActor, comment: string | null = null): AlarmView {
    return this.operate(id, { kind: 'out_of_service' }, by, comment);
  }

  returnToService(id: string, by: AlarmActor, comment: string | null = null): AlarmView {
    return this.operate(id, { kind: 'return_to_service' }, by, comment);
  }

  view(id: string): AlarmView | undefined {
    const r = this.records.get(id);
    return r === undefined ? undefined : toView(r);
  }

  list(filter: AlarmFilter = {}): AlarmView[] {
    const out: AlarmView[] = [];
    for (const r of this.records.values()) {
      if (!filter.all && stateOf(r) === 'normal') continue;
      if (matches(r, filter)) out.push(toView(r));
    }
    return out;
  }

  /** Every record's state for the state file (alarms in state normal are not kept). */
  persisted(): PersistedTable {
    const alarms: PersistedAlarm[] = [];
    for (const r of this.records.values()) {
      if (stateOf(r) === 'normal' && !r.active) continue;
      alarms.push({
        id: r.def.id,
        active: r.active,
        acked: r.acked,
        shelved: r.shelved,
        out_of_service: r.outOfService,
        value: r.value,
        ...since(r),
      });
    }
    return { seq: this.lastSeq, alarms };
  }

  /** Transitions after `seq`, oldest first, or null when they are no longer all held. */
  since(seq: number): AlarmEvent[] | null {
    if (!Number.isInteger(seq) || seq > this.lastSeq) return null;
    if (seq === this.lastSeq) return [];
    const first = this.ring[0];
    if (first === undefined || first.seq > seq + 1) return null;
    return this.ring.slice(seq + 1 - first.seq);
  }

  stop(): void {
    for (const r of this.records.values()) clearTimeout(r.expiry);
  }

  private record(id: string): AlarmRecord {
    const r = this.records.get(id);
    if (r === undefined) throw new GatewayError('alarm_not_found', `no alarm ${JSON.stringify(id.slice(0, 140))}; GET /api/v1/alarms?all=1 lists every configured alarm`);
    return r;
  }

  private operate(id: string, input: MachineInput, by: AlarmActor | null, comment: string | null, before?: () => void): AlarmView {
    const r = this.record(id);
    const result = step(r, input, r.def.ackRequired);
    if (!result.ok) throw new GatewayError('alarm_state', `${id}: cannot ${input.kind.replace(/_/g, ' ')}: ${result.reason}`);
    before?.();
    this.apply(r, input, by, comment);
    return toView(r);
  }

  private apply(r: AlarmRecord, input: MachineInput, by: AlarmActor | null, comment: string | null): void {
    const result = step(r, input, r.def.ackRequired);
    if (!result.ok) return;
    const t = this.now();
    const wasActive = r.active;
    r.active = result.record.active;
    r.acked = result.record.acked;
    r.shelved = result.record.shelved;
    r.outOfService = result.record.outOfService;
    if (r.active && !wasActive) r.activeSince = t;
    if (!r.active && result.to === 'normal') r.activeSince = null;
    if (!r.shelved) {
      clearTimeout(r.expiry);
      r.expiry = undefined;
      r.shelvedUntil = null;
      r.shelvedBy = null;
    }
    if (by !== null) r.comment = comment;
    if (result.transition === null) return;
    r.lastChange = t;
    this.emit(r, result.transition, result.from, by, comment, t);
  }

  private armExpiry(r: AlarmRecord): void {
    clearTimeout(r.expiry);
    if (r.shelvedUntil === null) return;
    const left = Math.max(0, r.shelvedUntil - this.now());
    r.expiry = setTimeout(() => {
      r.expiry = undefined;
      this.apply(r, { kind: 'unshelve', expired: true }, null, null);
    }, left);
    r.expiry.unref?.();
  }

  /** `t` (ms): the transition's time, the one the record's last change has too. */
  private emit(r: AlarmRecord, transition: AlarmTransition, from: AlarmEvent['from'], by: AlarmActor | null, comment: string | null, t: number): void {
    const d = r.def;
    const e: AlarmEvent = {
      seq: ++this.lastSeq,
      time: t / 1000,
      alarm_id: d.id,
      device_id: d.device_id,
      point: d.point,
      kind: d.kind,
      priority: d.priority,
      message: d.message,
      transition,
      from,
      to: transition === 'removed' ? 'normal' : stateOf(r),
      active: r.active,
      acked: r.acked,
      value: r.value,
      limit: d.limit,
      unit: d.unit,
      by,
      comment,
      shelved_until: r.shelvedUntil === null ? null : r.shelvedUntil / 1000,
    };
    this.ring.push(e);
    if (this.ring.length > this.replaySize) this.ring.shift();
    for (const l of this.listeners) l(e);
  }
}

function matches(r: AlarmRecord, f: AlarmFilter): boolean {
  if (f.device !== undefined && r.def.device_id !== f.device) return false;
  if (f.priority !== undefined && !f.priority.split(',').includes(r.def.priority)) return false;
  if (f.state !== undefined && !f.state.split(',').includes(stateOf(r))) return false;
  return true;
}

function toView(r: AlarmRecord): AlarmView {
  const d = r.def;
  return {
    id: d.id,
    device_id: d.device_id,
    point: d.point,
    kind: d.kind,
    priority: d.priority,
    message: d.message,
    state: stateOf(r),
    active: r.active,
    acked: r.acked,
    ack_required: d.ackRequired,
    value: r.value,
    limit: d.limit,
    unit: d.unit,
    ...since(r),
  };
}

/** The times (seconds, as the API and the state file give them), who shelved it and the comment. */
function since(r: AlarmRecord): Pick<AlarmView, 'active_since' | 'last_change' | 'shelved_until' | 'shelved_by' | 'comment'> {
  return {
    active_since: r.activeSince === null ? null : r.activeSince / 1000,
    last_change: r.lastChange / 1000,
    shelved_until: r.shelvedUntil === null ? null : r.shelvedUntil / 1000,
    shelved_by: r.shelvedBy,
    comment: r.comment,
  };
}

export function formatSeconds(s: number): string {
  if (s % 3600 === 0) return `${s / 3600} h`;
  if (s % 60 === 0) return `${s / 60} min`;
  return `${s} s`;
}
