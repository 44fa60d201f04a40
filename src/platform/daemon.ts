/**
 * The gateway as a systemd service: tells systemd when it is ready (READY=1 only once the
 * config is loaded, the server listens and the drivers started), keeps STATUS= current, feeds
 * the watchdog while healthy, reloads on SIGHUP, and says STOPPING=1 on the way out.
 * Outside systemd (no NOTIFY_SOCKET) the notifications are no-ops; reload still works.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, loadConfigFile } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import { Gateway } from '../gateway.js';
import { writeFileAtomicSync } from './atomic.js';
import { SystemdNotifier } from './notify.js';
import { RELOAD_OUTCOME_FILE, type ReloadRecord } from './reload-outcome.js';
import { Watchdog } from './watchdog.js';
import type { ReloadOutcome } from '../protocol/wire.js';
import { reloadRequester, toRefusedReloadRecord } from './audit.js';

export interface DaemonOptions {
  config: GatewayConfig;
  /** The file the config came from; reloads read it again. */
  file: string;
  /** Command-line overrides (e.g. --port) re-applied to every reloaded config. */
  overrides?: (config: GatewayConfig) => void;
  log: Logger;
  notifier?: SystemdNotifier;
  /** How often STATUS= is refreshed (ms); it is sent only when the text changed. */
  statusIntervalMs?: number;
  /**
   * Where each reload's outcome is written for the unit's ExecReload= (reload-wait.js), which
   * turns a refused reload into a failed `systemctl reload`. Defaults to systemd's
   * RuntimeDirectory= ($RUNTIME_DIRECTORY); nothing is written without one.
   */
  runtimeDir?: string;
}

/** The reload's answer is a wire shape (POST /api/v1/admin/reload): declared in src/protocol. */
export type { ReloadOutcome };

export class Daemon {
  readonly gateway: Gateway;
  readonly notifier: SystemdNotifier;
  private watchdog: Watchdog | undefined;
  private statusTimer: NodeJS.Timeout | undefined;
  private reloadChain: Promise<unknown> = Promise.resolve();
  private lastReloadProblem: string | undefined;
  private reloadSeq = 0;
  private readonly onHup = () => {
    // Also after a refused reload: logrotate's postrotate sends this for the moved audit file.
    this.gateway.audit.reopen();
    void this.reload();
  };

  constructor(private readonly options: DaemonOptions) {
    this.gateway = new Gateway({ config: options.config, log: options.log });
    this.notifier = options.notifier ?? new SystemdNotifier({ onError: (message) => options.log.error(message) });
  }

  async start(): Promise<number> {
    const { log } = this.options;
    // Handled from the start: SIGHUP's default action would end the process. Until the gateway
    // is ready a reload is refused with a reason (see reloadNow).
    process.on('SIGHUP', this.onHup);
    const port = await this.gateway.start();
    this.gateway.reloader = () => this.reload();
    this.notifier.ready(this.statusLine());
    const interval = this.notifier.watchdogIntervalMs();
    if (interval !== null) {
      this.watchdog = new Watchdog({ notifier: this.notifier, monitor: this.gateway.health, intervalMs: interval, log });
      this.watchdog.start();
    }
    this.statusTimer = setInterval(() => this.notifier.status(this.statusLine()), this.options.statusIntervalMs ?? 5000);
    this.gateway.audit.onChange(() => this.notifier.status(this.statusLine()));
    return port;
  }

  async stop(): Promise<void> {
    process.off('SIGHUP', this.onHup);
    this.notifier.stopping();
    this.watchdog?.stop();
    clearInterval(this.statusTimer);
    await this.gateway.stop();
  }

  /** Reloads are queued: a second SIGHUP during a reload runs after it, on the newest file. */
  reload(): Promise<ReloadOutcome> {
    const run = this.reloadChain.then(() => this.reloadNow()).then((outcome) => this.record(outcome));
    this.reloadChain = run.catch(() => undefined);
    return run;
  }

  /**
   * `4/4 devices online, 2 clients`, led by `unhealthy: <why>` while unhealthy, followed by the
   * last refused reload until one succeeds.
   */
  statusLine(): string {
    const devices = this.gateway.registry.list();
    const online = devices.filter((d) => d.online).length;
    const clients = this.gateway.server.connections;
    const health = this.gateway.health.state;
    let line = `${online}/${devices.length} devices online, ${clients} client${clients === 1 ? '' : 's'}`;
    for (const c of this.gateway.consumers()) {
      const h = c.health?.();
      // A consumer with a link (the northbound broker) is always named; others only when they fail.
      if (h === undefined || (h.ok && h.counters?.['link_up'] === undefined)) continue;
      const queued = h.counters?.['queued'];
      line += `, ${c.name} ${h.ok ? 'up' : `down (${h.reason ?? 'not working'})`}${queued !== undefined && queued > 0 ? `, ${queued} queued` : ''}`;
    }
    if (!health.healthy) line = `unhealthy: ${health.problems.join('; ')}; ${line}`;
    const audit = this.gateway.audit.problem;
    if (audit !== undefined) line = `control writes refused, audit trail: ${audit}; ${line}`;
    if (this.lastReloadProblem !== undefined) line += `; last reload refused: ${this.lastReloadProblem}`;
    return line;
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    const { log, file } = this.options;
    if (!this.gateway.isReady) {
      const why = 'the gateway is not running (starting or stopping)';
      log.warn({ file }, `reload ignored: ${why}`);
      return { ok: false, file, problems: [why] };
    }
    log.info({ file }, 'reloading configuration');
    this.notifier.reloading();
    let next: GatewayConfig;
    try {
      next = loadConfigFile(file);
      this.options.overrides?.(next);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String((err as Error).message ?? err)];
      return await this.refuse(problems, 'the new configuration has errors');
    }
    let r: Awaited<ReturnType<Gateway['reload']>>;
    try {
      r = await this.gateway.reload(next);
    } catch (err) {
      // A valid file the running gateway will not take (e.g. dropping every token on a LAN
      // address): the same refusal as a broken file, so systemd gets READY=1 again and the
      // REST caller gets the reason.
      const tokens = { before: this.gateway.config.auth.tokens, after: next.auth.tokens };
      return await this.refuse([String((err as Error).message ?? err)], 'the running gateway refused the new configuration', tokens);
    }
    this.lastReloadProblem = undefined;
    log.info(
      { file, drivers_restarted: r.restarted, drivers_started: r.started, drivers_stopped: r.stopped, devices_added: r.devicesAdded, devices_removed: r.devicesRemoved },
      'configuration reloaded',
    );
    if (r.restartRequired.length > 0) log.warn({ settings: r.restartRequired }, 'these settings changed but take effect only after a restart (systemctl restart machine-gateway)');
    for (const e of r.errors) log.error({ file }, e);
    this.notifier.ready(this.statusLine());
    return {
      ok: true,
      file,
      restart_required: r.restartRequired,
      drivers_restarted: r.restarted,
      drivers_started: r.started,
      drivers_stopped: r.stopped,
      devices_added: r.devicesAdded,
      devices_removed: r.devicesRemoved,
      errors: r.errors,
    };
  }

  /**
   * Ends a refused reload: logged, in the audit trail with who asked (like an accepted one),
   * shown in STATUS, and systemd told the service is ready again.
   */
  private async refuse(problems: string[], why: string, tokens?: Parameters<typeof toRefusedReloadRecord>[3]): Promise<ReloadOutcome> {
    const { log, file } = this.options;
    this.lastReloadProblem = `${file}: ${problems[0]}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`;
    // In the trail first, then the log line and READY=1 together, as for an accepted reload. A
    // trail that cannot be written is already reported (STATUS, /readyz); the refusal stands.
    await this.gateway.audit.append(toRefusedReloadRecord(file, problems, reloadRequester.getStore(), tokens)).catch(() => undefined);
    log.error({ file, problems }, `reload refused: ${why}; still running on the previous one`);
    this.notifier.ready(this.statusLine());
    return { ok: false, file, problems };
  }

  /** Numbers the outcome and leaves it where ExecReload= waits for it. */
  private record(outcome: ReloadOutcome): ReloadOutcome {
    const dir = (this.options.runtimeDir ?? process.env['RUNTIME_DIRECTORY'] ?? '').split(':')[0];
    if (!dir) return outcome;
    const entry: ReloadRecord = { seq: ++this.reloadSeq, pid: process.pid, ok: outcome.ok, problems: outcome.ok ? outcome.errors : outcome.problems };
    try {
      writeFileAtomicSync(join(dir, RELOAD_OUTCOME_FILE), `${JSON.stringify(entry)}\n`, { mode: 0o644 });
    } catch (err) {
      this.options.log.error({ dir, err }, 'could not record the reload outcome; systemctl reload will time out');
    }
    return outcome;
  }
}
