/**
 * ExecReload= of the unit: `node reload-wait.js $MAINPID`. Sends SIGHUP to the gateway, waits
 * for the outcome it records in $RUNTIME_DIRECTORY, and exits 0 when the new configuration was
 * applied or 78 (EX_CONFIG) with the reasons when it was refused, so `systemctl reload` fails
 * on a refused reload instead of reporting success. (Type=notify-reload, systemd 253+, makes
 * systemctl wait for READY=1 but has no way to report a refusal.)
 *
 * A separate small entry point, not a `mgw` command: it must not need the REST port or a token.
 */
import { readFileSync, watch } from 'node:fs';
import { join } from 'node:path';
import { parseReloadRecord, RELOAD_OUTCOME_FILE, type ReloadRecord } from './reload-outcome.js';

const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;
const EX_CONFIG = 78;
const EX_TEMPFAIL = 75;

function fail(code: number, message: string): never {
  process.stderr.write(`reload-wait: ${message}\n`);
  process.exit(code);
}

function read(file: string): ReloadRecord | undefined {
  try {
    return parseReloadRecord(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

const pid = Number(process.argv[2]);
if (!Number.isInteger(pid) || pid <= 0) fail(EX_USAGE, `usage: reload-wait.js MAINPID (got ${JSON.stringify(process.argv[2] ?? '')})`);
const dir = (process.env['RUNTIME_DIRECTORY'] ?? '').split(':')[0];
if (!dir) fail(EX_USAGE, 'RUNTIME_DIRECTORY is not set: run me as the ExecReload= of a unit with RuntimeDirectory=');
const timeoutS = Number(process.env['MGW_RELOAD_TIMEOUT_S'] ?? 60);
const file = join(dir, RELOAD_OUTCOME_FILE);
const before = read(file);
const seenSeq = before?.pid === pid ? before.seq : 0;

const isNew = (r: ReloadRecord | undefined): r is ReloadRecord => r !== undefined && r.pid === pid && r.seq > seenSeq;

function finish(r: ReloadRecord): never {
  if (r.ok) {
    for (const p of r.problems) process.stderr.write(`reload-wait: applied with an error: ${p}\n`);
    process.stdout.write('configuration reloaded\n');
    process.exit(0);
  }
  fail(EX_CONFIG, `reload refused, still running on the previous configuration:\n${r.problems.map((p) => `  ${p}`).join('\n')}`);
}

// Watch first, then signal: an outcome written in between is seen by the check after kill.
const watcher = watch(dir, () => {
  const r = read(file);
  if (isNew(r)) finish(r);
});
try {
  process.kill(pid, 'SIGHUP');
} catch (err) {
  watcher.close();
  fail(EX_UNAVAILABLE, `cannot signal the gateway (pid ${pid}): ${(err as Error).message}`);
}
const now = read(file);
if (isNew(now)) finish(now);
setTimeout(() => fail(EX_TEMPFAIL, `no reload outcome from pid ${pid} in ${timeoutS} s (see journalctl -u machine-gateway)`), timeoutS * 1000);
