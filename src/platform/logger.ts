/**
 * Logging: pino, one event per line, written synchronously so nothing is lost when the process
 * dies. Under systemd (stdout is the journal stream) each event becomes a journal entry with
 * MESSAGE, PRIORITY and its fields (journal.ts); elsewhere it is one JSON object per line on
 * stdout. Without libsystemd the journal still gets the JSON line, led by its syslog priority
 * `<N>` so `journalctl -p warning` filters correctly.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import { connectedToJournal, journalDestination, PRIORITY } from './journal.js';
import { isoTime } from '../core/time.js';

export type { Logger };

/** The identifier journal entries carry (the unit's SyslogIdentifier=): journalctl -t machine-gateway. */
const IDENTIFIER = 'machine-gateway';

export function journaldPriority(line: string): number {
  const m = /"level":(\d+)/.exec(line);
  return PRIORITY[Number(m?.[1])] ?? 6;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout (fd 1), synchronously. */
  destination?: DestinationStream;
  /** Prefix JSON lines with `<N>`; defaults to whether JOURNAL_STREAM is set (and no native journal). */
  journald?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const native = options.destination === undefined && options.journald === undefined && connectedToJournal() ? journalDestination(IDENTIFIER) : null;
  const base = options.destination ?? native ?? pino.destination({ dest: 1, sync: true });
  const journald = native === null && (options.journald ?? Boolean(process.env['JOURNAL_STREAM']));
  const stream: DestinationStream = journald ? { write: (line: string) => base.write(`<${journaldPriority(line)}>${line}`) } : base;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      // pino's isoTime, without Date.prototype.toISOString (see core/time.ts).
      timestamp: () => `,"time":"${isoTime(Date.now())}"`,
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    stream,
  );
}
