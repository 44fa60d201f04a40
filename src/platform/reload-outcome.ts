/**
 * The file through which a reload's outcome reaches `systemctl reload`: the daemon writes it after
 * every reload into its RuntimeDirectory (/run/machine-gateway), and the unit's ExecReload=
 * (reload-wait.ts) sends SIGHUP and waits for the next record of that process.
 */
export const RELOAD_OUTCOME_FILE = 'reload.json';

export interface ReloadRecord {
  /** Counts this process's reloads from 1; a restart starts again, so `pid` comes with it. */
  seq: number;
  pid: number;
  ok: boolean;
  /** Why a refused reload was refused, or the errors of an applied one (e.g. a driver that did not start). */
  problems: string[];
}

export function parseReloadRecord(text: string): ReloadRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ReloadRecord>;
    if (typeof r.seq !== 'number' || typeof r.pid !== 'number' || typeof r.ok !== 'boolean' || !Array.isArray(r.problems)) return undefined;
    return r as ReloadRecord;
  } catch {
    return undefined;
  }
}
