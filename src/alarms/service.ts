/**
 * The alarm system of one gateway, wired in the composition root as a consumer of registry
 * diffs: the definitions (from the config), the table (ISA-18.2 states), the evaluator (diffs
 * -> conditions), the journal and the state file in `<state_dir>/alarms/`, and the metrics.
 * Operator actions (ack, shelve, ...) come through here, so each one is written to the same
 * audit trail as a control write.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConsumerHealth, DiffConsumer } from '../core/consumer.js';
import type { DeviceDiff, Registry } from '../core/registry.js';
import type { Requester } from '../core/control.js';
import { GatewayError, asGatewayError } from '../core/errors.js';
import type { GatewayConfig } from '../config/schema.js';
import type { AlarmAuditRecord } from '../platform/audit.js';
import { stateDir } from '../platform/audit.js';
import { alarmDefinitionsOf } from './from-config.js';
import type { AlarmDefinition } from './definitions.js';
import { AlarmTable, type AlarmFilter } from './table.js';
import { AlarmEvaluator } from './evaluator.js';
import { replayJournal } from './replay.js';
import { AlarmJournal } from './journal.js';
import { AlarmStateFile } from './persist.js';
import { AlarmStats } from './stats.js';
import type { AlarmActor, AlarmEvent, AlarmView } from '../protocol/alarms.js';
import { isoTime } from '../core/time.js';

export type AlarmAction = 'ack' | 'shelve' | 'unshelve' | 'out_of_service' | 'return_to_service';

export interface AlarmServiceOptions {
  config: GatewayConfig;
  registry: Registry;
  log: Logger;
  /** Where operator actions are recorded: the control audit trail (src/platform/audit.ts). */
  audit?: AlarmAuditSink;
}

/** The part of the audit trail alarms use: an action is confirmed once its record is durable. */
export interface AlarmAuditSink {
  /** Why records cannot be written right now; actions are then refused (audit_unavailable). */
  readonly problem: string | undefined;
  append(rec: AlarmAuditRecord): Promise<void>;
}

/** A device that has not answered this long after start raises its offline alarm (ms): three polls and 5 s. */
export function startupGraceMs(pollIntervalMs: number): number {
  return 5000 + 3 * pollIntervalMs;
}

export class AlarmService implements DiffConsumer {
  readonly name = 'alarms';
  readonly table: AlarmTable;
  readonly evaluator: AlarmEvaluator;
  readonly journal: AlarmJournal;
  readonly stateFile: AlarmStateFile;
  readonly stats = new AlarmStats();
  private definitions: AlarmDefinition[];
  private pollMs = new Map<string, number>();
  private config: GatewayConfig;

  constructor(private readonly options: AlarmServiceOptions) {
    const { config, registry, log } = options;
    this.config = config;
    const dir = join(stateDir(config.state_dir), 'alarms');
    this.definitions = alarmDefinitionsOf(config).definitions;
    this.setPolls(config);
    this.table = new AlarmTable({ maxShelveS: config.alarms.max_shelve_s });
    this.evaluator = new AlarmEvaluator({ registry, table: this.table, startupGraceMs: (id) => startupGraceMs(this.pollMs.get(id) ?? 1000) });
    this.journal = new AlarmJournal({ dir, maxBytes: config.alarms.journal_max_bytes, files: config.alarms.journal_files, log });
    this.stateFile = new AlarmStateFile({ dir, log, snapshot: () => this.table.persisted() });
    this.table.onEvent((e) => this.record(e));
  }

  private setPolls(config: GatewayConfig): void {
    this.pollMs = new Map();
    for (const d of config.devices) this.pollMs.set(d.id, d.poll_interval_ms);
  }

  async start(): Promise<void> {
    await this.journal.start();
    const saved = this.stateFile.load();
    // What a crash kept from the state file is in the journal: brought up to date from it.
    const restored = replayJournal(saved, await this.journal.after(saved?.seq ?? 0));
    if (restored !== saved) this.options.log.warn({ from_seq: saved?.seq ?? 0, to_seq: restored!.seq }, 'alarm state brought up to date from the journal (the gateway stopped before it was saved)');
    this.table.load(this.definitions, restored);
    if (restored !== saved) this.stateFile.changed();
    this.evaluator.setDefinitions(this.definitions);
    await this.evaluator.start();
    const standing = this.table.list();
    this.options.log.info({ alarms: this.definitions.length, not_normal: standing.length, seq: this.table.seq }, 'alarms ready');
  }

  async stop(): Promise<void> {
    await this.evaluator.stop();
    this.table.stop();
    await this.stateFile.flush();
    await this.journal.stop();
  }

  onDiff(diff: DeviceDiff): void {
    this.evaluator.onDiff(diff);
  }

  forget(deviceId: string): void {
    this.evaluator.forget(deviceId);
  }

  /** A reload: the alarms of the new config (a removed alarm leaves the list with a `removed` event). */
  reload(config: GatewayConfig): void {
    this.config = config;
    this.definitions = alarmDefinitionsOf(config).definitions;
    this.setPolls(config);
    this.table.load(this.definitions);
    this.evaluator.setDefinitions(this.definitions);
  }

  health(): ConsumerHealth {
    const ok = this.journal.ok && !this.stateFile.failed;
    return {
      ok,
      ...(ok ? {} : { reason: `cannot write the alarm journal or state in ${join(stateDir(this.config.state_dir), 'alarms')}` }),
      counters: { transitions: this.stats.transitionsTotal, journal_written: this.journal.written, journal_errors: this.journal.writeErrors, ...this.evaluator.health().counters },
    };
  }

  list(filter: AlarmFilter = {}): AlarmView[] {
    return this.table.list(filter);
  }

  get standingAfterS(): number {
    return this.config.alarms.standing_after_s;
  }

  /**
   * One operator action on one alarm, audited like a control write (token, address, what it
   * was, what was asked, how it ended). Throws alarm_not_found / alarm_state / validation_error.
   */
  async act(action: AlarmAction, id: string, who: Requester, opts: { forS?: number; comment?: string | null } = {}): Promise<AlarmView> {
    const by: AlarmActor = { token: who.token ?? 'anonymous', remote: who.remote ?? null };
    const comment = opts.comment ?? null;
    const before = this.table.view(id);
    const problem = this.options.audit?.problem;
    if (problem !== undefined) {
      // As a control write: nothing an operator does goes unrecorded.
      throw new GatewayError('audit_unavailable', `${id}: ${action.replace(/_/g, ' ')} refused, the audit trail cannot be written (${problem}); alarm actions resume once it can`);
    }
    let after: AlarmView;
    try {
      after = this.perform(action, id, by, comment, opts.forS ?? 0);
    } catch (err) {
      // An unknown alarm reached nothing, like a write to an unknown device: not in the trail.
      if (before !== undefined) await this.audit(before, action, by, opts, undefined, asGatewayError(err)).catch(() => undefined);
      throw err;
    }
    // Confirmed to the client once the record is on disk, as a control write is.
    await this.audit(before, action, by, opts, after, undefined);
    return after;
  }

  /** Acknowledges every unacknowledged alarm matching the filter; each one is audited. */
  async ackAll(filter: AlarmFilter, who: Requester, comment: string | null = null): Promise<AlarmView[]> {
    const targets = this.table.list(filter).filter((a) => a.state === 'active_unack' || a.state === 'rtn_unack');
    // All acknowledged in this tick; their records share the audit trail's group commits.
    const done: Promise<AlarmView>[] = [];
    for (const a of targets) done.push(this.act('ack', a.id, who, { comment }));
    return Promise.all(done);
  }

  private perform(action: AlarmAction, id: string, by: AlarmActor, comment: string | null, forS: number): AlarmView {
    switch (action) {
      case 'ack':
        return this.table.ack(id, by, comment);
      case 'shelve':
        return this.table.shelve(id, forS, by, comment);
      case 'unshelve':
        return this.table.unshelve(id, by, comment);
      case 'out_of_service':
        return this.table.outOfService(id, by, comment);
      case 'return_to_service':
        return this.table.returnToService(id, by, comment);
    }
  }

  private async audit(before: AlarmView | undefined, action: AlarmAction, by: AlarmActor, opts: { forS?: number; comment?: string | null }, after: AlarmView | undefined, error: ReturnType<typeof asGatewayError> | undefined): Promise<void> {
    if (this.options.audit === undefined || before === undefined) return;
    const requested: AlarmAuditRecord['requested'] = { alarm_action: action };
    if (action === 'shelve' && opts.forS !== undefined) requested.for_s = opts.forS;
    if (opts.comment) requested.comment = opts.comment;
    const base = { time: isoTime(Date.now()), action: 'alarm' as const, token: by.token, remote: by.remote, device: before.device_id, previous: { alarm: before.id, state: before.state }, requested };
    await this.options.audit.append(
      after !== undefined
        ? { ...base, outcome: 'ok', new_state: { alarm: after.id, state: after.state }, seq: this.table.seq }
        : { ...base, outcome: 'error', error_code: error!.code, message: error!.message },
    );
  }

  private record(e: AlarmEvent): void {
    this.journal.append(e);
    this.stateFile.changed();
    this.stats.observe(e);
    const fields = { alarm: e.alarm_id, transition: e.transition, state: e.to, priority: e.priority, value: e.value, ...(e.by ? { token: e.by.token } : {}) };
    if (e.transition === 'raise') this.options.log.warn(fields, 'alarm');
    else this.options.log.info(fields, 'alarm');
  }
}
