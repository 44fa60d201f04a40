/**
 * The northbound publisher: a consumer of registry diffs (like the WebSocket publisher) that
 * sends every change to the plant broker in one of two modes (Sparkplug B, plain JSON).
 *
 * Alarm transitions (from the alarm table) take exactly the same path as diffs: one store, one
 * order, so a transition made while the broker is away follows the diffs around it.
 *
 * Order is the whole point. A diff goes out live only while the broker is connected, the
 * session's births are sent, the mode allows it (Sparkplug: the primary host is online) and
 * nothing older waits in the store; otherwise it is appended to the store. After (re)connecting:
 * births (current state) -> everything stored, oldest first, marked as history -> live again.
 * A live diff stays "in flight" until mqtt.js confirms it (written for QoS 0, PUBACK for QoS 1);
 * if the session ends first it goes back into the store, ahead of anything newer.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ConsumerHealth, DiffConsumer } from '../core/consumer.js';
import type { AlarmEvent } from '../protocol/alarms.js';
import type { DeviceDiff } from '../core/registry.js';
import type { NorthboundConfig } from './config.js';
import { BrokerLink, type OutMessage } from './link.js';
import { isAlarmRecord, type ModeHost, type NorthboundMode, type NorthboundRecord } from './mode.js';
import { ForwardStore } from './store.js';
import { RetainedLedger } from './retained.js';

/** Stored records forwarded per round trip: enough to keep the pipe full, small enough to stop soon on a loss. */
const FORWARD_BATCH = 256;

export interface NorthboundOptions {
  config: NorthboundConfig & { mqtt: NonNullable<NorthboundConfig['mqtt']> };
  stateDir: string;
  log: Logger;
  /** Builds the mode with a handle back to the core. */
  mode: (host: ModeHost) => NorthboundMode;
}

export class NorthboundPublisher implements DiffConsumer {
  readonly name = 'mqtt';
  readonly store: ForwardStore<NorthboundRecord>;
  readonly link: BrokerLink;
  readonly mode: NorthboundMode;
  /** The retained topics this gateway published, so those it no longer describes can be emptied. */
  private readonly retained: RetainedLedger;
  private born = false;
  private forwarding = false;
  /** Records wait in the store because the broker was slow, not away: they go out as live data. */
  private overflow = false;
  private inflight = new Map<number, NorthboundRecord>();
  private nextInflight = 0;
  private stopped = false;
  private started = false;
  private counts = { published_live_total: 0, publish_failures_total: 0, overflow_total: 0 };

  constructor(private readonly options: NorthboundOptions) {
    const { config, log } = options;
    this.store = new ForwardStore<NorthboundRecord>({
      dir: join(options.stateDir, 'northbound'),
      maxBytes: config.store.max_bytes,
      segmentBytes: config.store.segment_bytes,
      fsyncIntervalMs: config.store.fsync_interval_ms,
      log: log.child({ part: 'store' }),
    });
    this.retained = new RetainedLedger(join(options.stateDir, 'northbound'), log);
    const host: ModeHost = {
      send: (messages) => this.send(messages),
      rebirth: () => this.birth(),
      gateChanged: () => this.gateChanged(),
    };
    this.mode = options.mode(host);
    this.link = new BrokerLink({
      config: config.mqtt,
      clientId: this.mode.clientId,
      will: () => this.mode.will(),
      subscriptions: () => this.mode.subscriptions(),
      log,
      onUp: () => this.birth(),
      onDown: () => this.down(),
      onMessage: (topic, payload, packet) => {
        try {
          this.mode.onMessage(topic, payload, packet);
        } catch (err) {
          log.error({ err, topic }, 'northbound: a message could not be handled');
        }
      },
    });
  }

  async start(): Promise<void> {
    try {
      this.store.open();
    } catch (err) {
      throw new Error(`cannot open the store-and-forward directory ${join(this.options.stateDir, 'northbound')}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (set state_dir to a writable directory)`);
    }
    this.retained.load();
    this.started = true;
    this.link.start();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.link.stop(this.mode.farewell());
    this.restoreInflight();
    this.store.close();
  }

  onDiff(diff: DeviceDiff): void {
    this.accept(diff);
  }

  /** An alarm transition (the alarm table's listener): in order with the diffs. */
  onAlarm(event: AlarmEvent): void {
    // Before the store is open there is no session yet: the first births carry the alarm's state.
    if (!this.started) return;
    this.accept({ alarm: event });
  }

  private accept(diff: NorthboundRecord): void {
    if (this.stopped) return;
    if (!this.liveNow()) {
      if (this.overflow) this.counts.overflow_total++;
      this.store.append(diff);
      return;
    }
    // A broker slower than the changes would pile them up in mqtt.js's memory: past max_inflight
    // they wait in the bounded store and follow in order, as live data, once it caught up.
    if (this.inflight.size >= this.options.config.mqtt.max_inflight) {
      this.overflow = true;
      this.counts.overflow_total++;
      this.store.append(diff);
      return;
    }
    this.publishLive(diff);
  }

  forget(deviceId: string): void {
    const last = this.mode.forget?.(deviceId) ?? [];
    // Its retained topics are emptied by the sweep after the reload (reloaded()).
    if (this.link.isUp && this.born) this.send(last);
  }

  health(): ConsumerHealth {
    const up = this.link.isUp;
    const held = up && !this.mode.liveAllowed();
    const counters: Record<string, number> = { ...this.link.counters, ...this.store.counters, ...this.counts, ...this.retained.counters, ...this.mode.counters() };
    if (!up) return { ok: false, reason: `broker ${this.options.config.mqtt.url}: ${this.link.reason}`, counters };
    if (held) return { ok: false, reason: this.mode.holdReason(), counters };
    return { ok: true, counters };
  }

  reloaded(): void {
    // Points or alarms a reload changed: described again at once, and what went is emptied.
    if (!this.link.isUp || !this.born) return;
    const again = this.mode.reannounce?.() ?? [];
    this.send(again);
    this.sweepRetained(again);
  }

  private liveNow(): boolean {
    return this.link.isUp && this.born && !this.forwarding && this.store.length === 0 && this.mode.liveAllowed();
  }

  private liveMessages(r: NorthboundRecord): OutMessage[] {
    return isAlarmRecord(r) ? this.mode.alarmLive(r.alarm) : this.mode.live(r);
  }

  private historicalMessages(r: NorthboundRecord): OutMessage[] {
    return isAlarmRecord(r) ? this.mode.alarmHistorical(r.alarm) : this.mode.historical(r);
  }

  private publishLive(diff: NorthboundRecord): void {
    const id = this.nextInflight++;
    this.inflight.set(id, diff);
    const sent = this.liveMessages(diff).map((m) => this.publish(m));
    this.retained.save();
    this.counts.published_live_total++;
    Promise.all(sent).then(
      () => {
        this.inflight.delete(id);
        // The broker caught up: what overflowed goes out next, before anything newer.
        if (this.overflow && !this.forwarding && this.inflight.size * 2 <= this.options.config.mqtt.max_inflight) this.forward();
      },
      () => {
        // Left in `inflight`: down() puts it back into the store in order.
        this.counts.publish_failures_total++;
      },
    );
  }

  /** A new session (or a rebirth): births first, then the stored history, then live. */
  private birth(): void {
    if (!this.link.isUp || this.stopped) return;
    this.born = false;
    // Whatever waits in the store now is older than the births: history.
    this.overflow = false;
    // (What was in flight when a session ended is already back in the store: see down().)
    if (!this.mode.liveAllowed()) return;
    const births = this.mode.births();
    this.send(births);
    this.sweepRetained(births);
    this.born = true;
    this.forward();
  }

  private down(): void {
    this.born = false;
    this.mode.sessionEnded?.();
    this.restoreInflight();
  }

  private gateChanged(): void {
    if (!this.mode.liveAllowed()) {
      // Anything not yet confirmed is kept again, so the host that went away misses nothing.
      return;
    }
    this.birth();
  }

  private restoreInflight(): void {
    if (this.inflight.size === 0) return;
    const pending = [...this.inflight.values()];
    this.inflight.clear();
    // Older than anything stored: a diff goes live only while the store is empty, and what
    // overflowed past max_inflight meanwhile is newer. So they go before it.
    this.store.requeueFront(pending);
  }

  /**
   * Empties every retained topic published before that `current` (the births, or what a reload
   * described again: everything the gateway keeps retained now) no longer has: a device, point or
   * alarm removed, a prefix changed, JSON mode left for Sparkplug.
   */
  private sweepRetained(current: readonly OutMessage[]): void {
    const keep = new Set(current.filter((m) => m.retain && m.payload.length > 0).map((m) => m.topic));
    const stale = this.retained.stale(keep);
    if (stale.length > 0) this.options.log.info({ topics: stale.length }, 'northbound: emptied retained topics the gateway no longer publishes');
    this.send(stale);
    this.retained.save();
  }

  /** Every message goes to the broker through here: the retained ones are noted. */
  private publish(m: OutMessage): Promise<void> {
    this.retained.note(m);
    return this.link.publish(m);
  }

  private send(messages: OutMessage[]): void {
    for (const m of messages) {
      this.publish(m).catch(() => {
        this.counts.publish_failures_total++;
      });
    }
  }

  private forward(): void {
    if (this.forwarding) return;
    if (this.store.length === 0) {
      if (this.overflow) this.overflow = false;
      else this.send(this.mode.afterHistory());
      return;
    }
    this.forwarding = true;
    const started = this.store.length;
    const asLive = this.overflow;
    if (!asLive) this.options.log.info({ records: started }, 'store-and-forward: forwarding stored data');
    void (async () => {
      try {
        while (this.link.isUp && this.born && this.mode.liveAllowed() && this.store.length > 0) {
          const { records: batch, through } = this.store.batch(FORWARD_BATCH);
          const sent: Promise<void>[] = [];
          // A birth in the meantime (reconnect, rebirth) turns what is left into history.
          const live = asLive && this.overflow;
          for (const d of batch) for (const m of live ? this.liveMessages(d) : this.historicalMessages(d)) sent.push(this.publish(m));
          this.retained.save();
          try {
            await Promise.all(sent);
          } catch {
            // The session ended: the batch stays stored and goes again (at least once).
            this.counts.publish_failures_total++;
            return;
          }
          this.store.forwarded(through);
        }
      } finally {
        this.forwarding = false;
      }
      if (this.store.length === 0 && asLive && this.overflow) {
        this.overflow = false;
      } else if (this.store.length === 0 && this.link.isUp && this.born) {
        this.options.log.info({ records: started, forwarded_total: this.store.counters.forwarded_total }, 'store-and-forward: stored data forwarded; live again');
        this.send(this.mode.afterHistory());
      }
    })();
  }
}
