/**
 * Process measurements from /proc: CPU time (user + system) and resident memory of any PID,
 * so the server's cost is read from outside, not reported by the server itself.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second of /proc/PID/stat times (getconf CLK_TCK; 100 on Linux). */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/**
 * CPU seconds the process has run so far, in nanosecond resolution: the sum over its threads
 * of /proc/PID/task/TID/schedstat (time on CPU). /proc/PID/stat counts in 10 ms ticks, too
 * coarse for sub-second phases; it stays as the fallback.
 */
export function cpuSeconds(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between listing and reading
      }
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // no schedstat on this kernel
  }
  return statCpuSeconds(pid);
}

/** CPU seconds (user + system) from /proc/PID/stat, in clock ticks. */
export function statCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Field 2 (comm) may contain spaces: split after the closing parenthesis.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  return (utime + stime) / CLK_TCK;
}

/** Resident set size in MiB (VmRSS). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** Wall clock in epoch milliseconds with sub-millisecond resolution, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}
