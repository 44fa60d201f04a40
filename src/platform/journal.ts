/**
 * Log lines into the systemd journal as journal entries, not as JSON text: MESSAGE is the event
 * in words with its fields after it, PRIORITY its syslog level, and every field a journal field
 * of its own, so `journalctl -u machine-gateway` reads like prose and
 * `journalctl -u machine-gateway DEVICE=motor_01` (or BUS=, DRIVER=) filters.
 *
 * Sent with sd_journal_sendv(3) from libsystemd.so.0 through koffi, the binding that already
 * carries sd_notify: synchronous like the stdout destination, so nothing is lost on a crash.
 */
import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';

/** pino level number -> syslog priority (sd-daemon.h). */
export const PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/** Known in the journal already (_PID, the entry's timestamp) or carried by MESSAGE/PRIORITY. */
const NOT_FIELDS = new Set(['level', 'msg', 'pid', 'hostname', 'time']);

/** A pino key as a journal field name: upper case letters, digits and `_`, not leading `_`. */
export function fieldName(key: string): string {
  const name = key.toUpperCase().replace(/[^A-Z0-9_]/g, '_').replace(/^[_0-9]+/, '');
  return (name || 'FIELD').slice(0, 64);
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Object && 'message' in value && typeof value.message === 'string') return value.message;
  return JSON.stringify(value) ?? String(value);
}

/** `key=value` for the end of MESSAGE: text quoted when it has spaces, anything else as JSON. */
function pair(key: string, value: unknown): string {
  const t = text(value);
  const isText = typeof value === 'string' || t !== JSON.stringify(value);
  return `${key}=${isText && (/[\s"]/.test(t) || t === '') ? JSON.stringify(t) : t}`;
}

/**
 * One pino JSON line -> the journal entry's fields (`NAME=value`, in order). An `err` adds its
 * message to MESSAGE and its stack as ERR_STACK.
 */
export function journalEntry(line: string, identifier: string): string[] {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return [`MESSAGE=${line.trimEnd()}`, 'PRIORITY=6', `SYSLOG_IDENTIFIER=${identifier}`];
  }
  const fields: string[] = [];
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (NOT_FIELDS.has(key) || value === undefined) continue;
    pairs.push(pair(key, value));
    if (key === 'err' && value instanceof Object && 'stack' in value) fields.push(`ERR_STACK=${String(value.stack)}`);
    fields.push(`${fieldName(key)}=${text(value)}`);
  }
  // The gateway's own clock, for ordering against systemd's timestamps (the entry's is when
  // journald received it).
  if (typeof event['time'] === 'string') fields.push(`TIME=${event['time']}`);
  const msg = typeof event['msg'] === 'string' ? event['msg'] : '';
  const message = [msg, ...pairs].filter(Boolean).join(' ');
  return [`MESSAGE=${message}`, `PRIORITY=${PRIORITY[Number(event['level'])] ?? 6}`, `SYSLOG_IDENTIFIER=${identifier}`, ...fields];
}

/**
 * Whether stdout or stderr is the journal stream systemd connected (JOURNAL_STREAM is
 * `device:inode` of it, see systemd.exec(5)); a redirect (`node ... > file` from a unit's shell)
 * keeps JSON then.
 */
export function connectedToJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const stream = env['JOURNAL_STREAM'];
  if (!stream) return false;
  for (const fd of [1, 2]) {
    try {
      const st = fstatSync(fd);
      if (`${st.dev}:${st.ino}` === stream) return true;
    } catch {
      // fd closed
    }
  }
  return false;
}

type SendV = (iov: { iov_base: Buffer; iov_len: number }[], n: number) => number;

/** A pino destination writing entries with sd_journal_sendv; `null` when libsystemd is missing. */
export function journalDestination(identifier: string): { write(line: string): void } | null {
  let sendv: SendV;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const lib = koffi.load('libsystemd.so.0');
    koffi.struct('mgw_iovec', { iov_base: 'const void *', iov_len: 'size_t' });
    sendv = lib.func('int sd_journal_sendv(const mgw_iovec *iov, int n)') as SendV;
  } catch {
    return null;
  }
  return {
    write(line: string) {
      const iov = journalEntry(line, identifier).map((f) => {
        const b = Buffer.from(f);
        return { iov_base: b, iov_len: b.length };
      });
      const rc = sendv(iov, iov.length);
      // The journal refused the entry (too large, socket gone): keep the line on stdout instead.
      if (rc < 0) process.stdout.write(`<${PRIORITY[Number(/"level":(\d+)/.exec(line)?.[1])] ?? 6}>${line}`);
    },
  };
}
