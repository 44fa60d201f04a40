/**
 * systemd notification (sd_notify(3)) through libsystemd.so.0 via koffi: no native compile, and
 * the message leaves from the main PID, which `NotifyAccess=main` requires.
 *
 * Without NOTIFY_SOCKET (run by hand, in tests, under another supervisor) every call is a no-op
 * and libsystemd is not even loaded, so machines without it still run the gateway.
 */
import { createRequire } from 'node:module';

type SdNotify = (unsetEnvironment: number, state: string) => number;

export interface NotifierOptions {
  /** The environment to read NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID from; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Called once if libsystemd cannot be loaded or a send fails, so the operator hears about it. */
  onError?: (message: string) => void;
  /** The sd_notify implementation; defaults to libsystemd's. Injected by unit tests of other layers. */
  send?: SdNotify;
}

export class SystemdNotifier {
  private send: SdNotify | null | undefined;
  private lastStatus = '';
  private warned = false;

  constructor(private readonly options: NotifierOptions = {}) {}

  private get env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }

  /** Whether systemd asked for notifications (Type=notify sets NOTIFY_SOCKET). */
  get enabled(): boolean {
    return Boolean(this.env['NOTIFY_SOCKET']);
  }

  /**
   * Half of WatchdogSec= in ms (sd_watchdog_enabled(3) advises pinging at half the timeout), or
   * null when the watchdog is off or armed for another process (WATCHDOG_PID names a different PID).
   */
  watchdogIntervalMs(): number | null {
    const usec = Number(this.env['WATCHDOG_USEC']);
    if (!Number.isFinite(usec) || usec <= 0) return null;
    const pid = this.env['WATCHDOG_PID'];
    if (pid !== undefined && pid !== '' && Number(pid) !== process.pid) return null;
    return Math.max(1, Math.floor(usec / 2000));
  }

  /** The service is up: config loaded, server listening, drivers started. */
  ready(status: string): void {
    this.lastStatus = oneLine(status);
    this.notify(`READY=1\nSTATUS=${this.lastStatus}\nMAINPID=${process.pid}`);
  }

  /** A one-line summary shown by `systemctl status`; sent only when it changed. */
  status(status: string): void {
    const line = oneLine(status);
    if (line === this.lastStatus) return;
    this.lastStatus = line;
    this.notify(`STATUS=${line}`);
  }

  /** Reload began (SIGHUP); `ready()` ends it. MONOTONIC_USEC lets systemd order the two. */
  reloading(): void {
    const usec = process.hrtime.bigint() / 1000n;
    this.notify(`RELOADING=1\nMONOTONIC_USEC=${usec}`);
  }

  stopping(status = 'stopping'): void {
    this.lastStatus = oneLine(status);
    this.notify(`STOPPING=1\nSTATUS=${this.lastStatus}`);
  }

  /** Keep-alive for WatchdogSec=. Callers send it only while the gateway is healthy. */
  watchdog(): void {
    this.notify('WATCHDOG=1');
  }

  /** Returns whether the message was handed to systemd. */
  notify(state: string): boolean {
    if (!this.enabled) return false;
    const send = this.load();
    if (send === null) return false;
    const rc = send(0, state);
    if (rc < 0) this.warn(`sd_notify failed with error ${-rc} for ${JSON.stringify(state.split('\n')[0])}`);
    return rc > 0;
  }

  private load(): SdNotify | null {
    if (this.send !== undefined) return this.send;
    if (this.options.send) return (this.send = this.options.send);
    try {
      // Loaded on first use only: commands other than `serve`, and machines without systemd,
      // never touch the native FFI module.
      const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
      const lib = koffi.load('libsystemd.so.0');
      this.send = lib.func('int sd_notify(int unset_environment, const char *state)') as SdNotify;
    } catch (err) {
      this.send = null;
      this.warn(`NOTIFY_SOCKET is set but libsystemd.so.0 cannot be loaded (${(err as Error).message}); install libsystemd0 or the service will time out starting`);
    }
    return this.send;
  }

  private warn(message: string): void {
    if (this.warned) return;
    this.warned = true;
    this.options.onError?.(message);
  }
}

/** STATUS= is one line; newlines would start a new assignment. */
function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').slice(0, 400);
}
