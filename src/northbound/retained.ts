/**
 * The retained topics this gateway has put on the broker, kept in `state_dir` so they can be
 * taken back. A retained message outlives whoever published it: a device removed from the
 * config (by a reload, or while the gateway was stopped) would otherwise leave its last state,
 * `"online": true` and good qualities, on the broker for every later subscriber to read as
 * current, and its Home Assistant entities in place. After each session's births, and after a
 * reload removed a device, every topic the gateway published retained but no longer describes
 * is emptied (an empty retained message deletes it, MQTT 3.1.1 3.3.1.3).
 *
 * On disk: `<state_dir>/northbound/retained.json`, a JSON array of topics, replaced atomically
 * when the set changes (devices, points or alarms added or removed: rare; a state update does
 * not change it). A missing or unreadable file starts an empty set, said in the log.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { writeFileAtomicSync } from '../platform/atomic.js';
import type { OutMessage } from './link.js';

export class RetainedLedger {
  private readonly topics = new Set<string>();
  private readonly file: string;
  private dirty = false;
  readonly counters = { retained_topics: 0, retained_cleared_total: 0, retained_ledger_errors_total: 0 };

  constructor(
    dir: string,
    private readonly log: Logger,
  ) {
    this.file = join(dir, 'retained.json');
  }

  load(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.fail(`cannot read ${this.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return;
    }
    try {
      const list = JSON.parse(text) as unknown;
      if (!Array.isArray(list) || !list.every((t) => typeof t === 'string')) throw new Error('not a JSON array of topics');
      for (const t of list) this.topics.add(t);
    } catch (err) {
      this.fail(`${this.file} is not usable (${(err as Error).message}); retained topics published before it cannot be taken back`);
    }
    this.counters.retained_topics = this.topics.size;
  }

  /** A message about to be published: a retained one adds its topic, an empty retained one removes it. */
  note(m: OutMessage): void {
    if (!m.retain) return;
    if (m.payload.length === 0) {
      if (this.topics.delete(m.topic)) this.dirty = true;
    } else if (!this.topics.has(m.topic)) {
      this.topics.add(m.topic);
      this.dirty = true;
    }
  }

  /** Empty retained messages for every topic published before that is not in `keep`. */
  stale(keep: ReadonlySet<string>): OutMessage[] {
    const out: OutMessage[] = [];
    for (const t of this.topics) if (!keep.has(t)) out.push({ topic: t, payload: '', qos: 1, retain: true });
    this.counters.retained_cleared_total += out.length;
    return out;
  }

  /** Writes the set when it changed. */
  save(): void {
    this.counters.retained_topics = this.topics.size;
    if (!this.dirty) return;
    try {
      writeFileAtomicSync(this.file, `${JSON.stringify([...this.topics])}\n`);
      this.dirty = false;
    } catch (err) {
      this.fail(`cannot write ${this.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }

  private fail(reason: string): void {
    this.counters.retained_ledger_errors_total++;
    this.log.warn({ file: this.file }, `northbound: ${reason}`);
  }
}
