/**
 * The bench-only diff source that runs inside each server process: an open-loop schedule of
 * diffs (k-th at t0 + k/rate, round robin over the devices), each stamped with its intended
 * time. A late timer publishes everything that is due at once, so queueing shows up as latency.
 *
 * The runner drives it over IPC: {cmd: 'run', rate, durationMs} -> {cmd: 'done', sent, maxLateMs}.
 */
export const BENCH_DEVICES = ['b0', 'b1', 'b2', 'b3'];

/** Publishes one diff for `device` carrying `stampMs` (epoch ms, fractional) in point ai01. */
export type Emit = (device: string, stampMs: number) => void;

export interface RunCommand {
  cmd: 'run';
  /** Diffs per second over all devices. */
  rate: number;
  durationMs: number;
  /** Epoch ms at which the schedule starts (so the load generator knows the window). */
  startAt: number;
}

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** At most this many overdue diffs per turn, then the event loop gets to do I/O. */
const BATCH = 256;

export function runSchedule(emit: Emit, cmd: RunCommand): Promise<{ sent: number; maxLateMs: number }> {
  const interval = 1000 / cmd.rate;
  const total = Math.floor((cmd.durationMs / 1000) * cmd.rate);
  let k = 0;
  let maxLateMs = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = nowMs();
      let n = 0;
      while (k < total && n < BATCH) {
        const due = cmd.startAt + k * interval;
        if (due > now) break;
        maxLateMs = Math.max(maxLateMs, now - due);
        emit(BENCH_DEVICES[k % BENCH_DEVICES.length]!, due);
        k++;
        n++;
      }
      if (k >= total) {
        resolve({ sent: k, maxLateMs });
        return;
      }
      if (n === BATCH) setImmediate(tick);
      else setTimeout(tick, Math.max(0, cmd.startAt + k * interval - nowMs()));
    };
    setTimeout(tick, Math.max(0, cmd.startAt - nowMs()));
  });
}

/** Wires the IPC channel of a bench server: `run` commands, memory on request. */
export function serveBenchCommands(emit: Emit, port: number): void {
  process.on('message', (msg: { cmd: string } & Partial<RunCommand>) => {
    if (msg.cmd === 'run') {
      void runSchedule(emit, msg as RunCommand).then((r) => process.send!({ cmd: 'done', ...r }));
    } else if (msg.cmd === 'memory') {
      process.send!({ cmd: 'memory', ...process.memoryUsage() });
    }
  });
  process.send!({ cmd: 'ready', port });
}
