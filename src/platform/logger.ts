/**
 * Logging: pino, one JSON event per line, written synchronously to stdout so nothing is lost
 * when the process dies. Under journald (JOURNAL_STREAM set) each line starts with the
 * syslog priority `<N>` so `journalctl -p warning` filters correctly.
 */
import pino, { type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** pino level number -> syslog priority (sd-daemon.h). */
const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

export function journaldPriority(line: string): number {
  const m = /"level":(\d+)/.exec(line);
  return PRIORITY[Number(m?.[1])] ?? 6;
}

export interface LoggerOptions {
  level: string;
  /** Where lines go; defaults to stdout (fd 1), synchronously. */
  destination?: DestinationStream;
  /** Prefix lines with `<N>`; defaults to whether JOURNAL_STREAM is set. */
  journald?: boolean;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = options.destination ?? pino.destination({ dest: 1, sync: true });
  const journald = options.journald ?? Boolean(process.env['JOURNAL_STREAM']);
  const stream: DestinationStream = journald ? { write: (line: string) => base.write(`<${journaldPriority(line)}>${line}`) } : base;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    stream,
  );
}
