/**
 * Health of the running gateway and the systemd watchdog that depends on it.
 *
 * HealthMonitor answers "is this process still doing its job": the event loop is not lagging
 * beyond a bound, and every driver with devices completed a transaction recently
 * (Driver.health().lastProgress). Watchdog sends WATCHDOG=1 every half WatchdogSec, but only
 * while the monitor says healthy: a hung loop sends nothing (its timers never fire) and a
 * wedged driver stops the pings on purpose, so systemd kills and restarts the service.
 */
import * as v from 'valibot';
import type { Logger } from 'pino';
import type { Driver } from '../core/driver.js';
import { int } from '../config/fields.js';
import type { SystemdNotifier } from './notify.js';
import { LoopDelay } from './loop-delay.js';

export const HealthSchema = v.strictObject(
  {
    max_event_loop_delay_ms: v.optional(
      int(10, 600_000, 'Longest event-loop delay (ms) seen between two watchdog pings that still counts as healthy; beyond it the ping is withheld.'),
      2000,
    ),
    driver_stall_s: v.optional(
      int(
        0,
        86_400,
        'Seconds a driver with devices may go without completing any transaction (a poll, a write, or a timed-out attempt) before the gateway reports itself unhealthy and stops feeding the systemd watchdog. 0 turns the check off (e.g. for devices that only send when something changes).',
      ),
      120,
    ),
  },
  'unknown setting',
);
export type HealthConfig = v.InferOutput<typeof HealthSchema>;

export interface HealthState {
  healthy: boolean;
  /** Why not healthy, one line each ("driver modbus:line1 made no progress for 130 s"). */
  problems: string[];
  /** Largest event-loop delay in the last window, ms. */
  loopDelayMaxMs: number;
  checkedAt: number;
}

export interface HealthMonitorOptions {
  config: () => HealthConfig;
  drivers: () => readonly Driver[];
  now?: () => number;
  /** How often health is evaluated on its own (ms), for /api/v1/status and STATUS= (default 5000). */
  checkIntervalMs?: number;
}

export class HealthMonitor {
  /** Exposed for /metrics: percentiles of the event-loop delay since start, in ns (without the sampling interval); its window is each check's. */
  readonly loopDelay = new LoopDelay(20);
  private readonly now: () => number;
  private last: HealthState = { healthy: true, problems: [], loopDelayMaxMs: 0, checkedAt: 0 };
  private timer: NodeJS.Timeout | undefined;
  /** When each driver was first seen: its baseline until its first transaction (a driver added by a reload starts fresh). */
  private readonly firstSeen = new WeakMap<Driver, number>();

  constructor(private readonly options: HealthMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.loopDelay.enable();
    this.timer = setInterval(() => this.check(), this.options.checkIntervalMs ?? 5000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.loopDelay.disable();
  }

  /** The last check's result, without starting a new window. */
  get state(): HealthState {
    return this.last;
  }

  /** Evaluates health now and starts a new event-loop window. */
  check(): HealthState {
    const cfg = this.options.config();
    const now = this.now();
    const problems: string[] = [];
    const loopDelayMaxMs = this.loopDelay.takeWindowMax() / 1e6;
    if (loopDelayMaxMs > cfg.max_event_loop_delay_ms) {
      problems.push(`event loop delayed ${Math.round(loopDelayMaxMs)} ms (limit ${cfg.max_event_loop_delay_ms} ms)`);
    }
    const stallMs = cfg.driver_stall_s * 1000;
    for (const driver of cfg.driver_stall_s === 0 ? [] : this.options.drivers()) {
      if (driver.health === undefined || driver.devices().length === 0) continue;
      if (!this.firstSeen.has(driver)) this.firstSeen.set(driver, now);
      const since = driver.health().lastProgress ?? this.firstSeen.get(driver)!;
      if (now - since > stallMs) problems.push(`driver ${driver.id} made no progress for ${Math.round((now - since) / 1000)} s (limit ${cfg.driver_stall_s} s)`);
    }
    this.last = { healthy: problems.length === 0, problems, loopDelayMaxMs, checkedAt: now };
    return this.last;
  }
}

export interface WatchdogOptions {
  notifier: SystemdNotifier;
  monitor: HealthMonitor;
  /** Ping period in ms; half of WATCHDOG_USEC. */
  intervalMs: number;
  log: Logger;
}

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private wasHealthy = true;

  constructor(private readonly options: WatchdogOptions) {}

  start(): void {
    const { intervalMs, log } = this.options;
    log.info({ interval_ms: intervalMs }, 'systemd watchdog armed');
    this.tick();
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const { notifier, monitor, log } = this.options;
    // A fresh evaluation: the ping must reflect the gateway now, not the last periodic check.
    const state = monitor.check();
    if (state.healthy) {
      notifier.watchdog();
      if (!this.wasHealthy) log.info('healthy again; watchdog pings resumed');
    } else {
      // Withholding the ping is the point: systemd restarts us when this persists.
      log.error({ problems: state.problems }, 'unhealthy; watchdog ping withheld');
    }
    this.wasHealthy = state.healthy;
  }
}

/**
 * For the system test only: with MGW_TEST_HANG_ON_SIGUSR2=1 in the environment, SIGUSR2 blocks
 * the event loop for good (Atomics.wait sleeps without burning CPU), as a bug would. Off unless
 * that variable is set; the shipped unit never sets it.
 */
export function installHangTrigger(log: Logger, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['MGW_TEST_HANG_ON_SIGUSR2'] !== '1') return false;
  log.warn('test hang trigger enabled: SIGUSR2 will block the event loop');
  process.on('SIGUSR2', () => {
    log.error('SIGUSR2: blocking the event loop on purpose (test hang trigger)');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  });
  return true;
}
