/**
 * The composition root: builds the registry, the drivers, the control service and the server
 * from a validated config, and starts and stops them in order.
 *
 * start: registry -> drivers constructed (devices known) -> server listening -> drivers started -> ready
 * stop:  not ready -> server stops accepting and closes clients -> drivers stopped
 */
import type { ReloadOutcome } from './protocol/wire.js';
import type { Logger } from 'pino';
import type { GatewayConfig } from './config/schema.js';
import { Registry } from './core/registry.js';
import { ControlService } from './core/control.js';
import { History } from './core/history.js';
import type { DiffConsumer } from './core/consumer.js';
import type { Driver, DriverContext } from './core/driver.js';
import { Server } from './server/app.js';
import type { ModbusBusInfo } from './server/modbus-admin.js';
import type { LinePortInfo } from './server/line-admin.js';
import type { CommissioningBus } from './core/commissioning.js';
import { Security } from './server/auth-guard.js';
import { redactConfig } from './server/auth-routes.js';
import { AuditLog, auditFile, reloadRequester, stateDir, toReloadRecord } from './platform/audit.js';
import { Historian } from './historian/historian.js';
import { join } from 'node:path';
import { createDrivers } from '../drivers/index.js';
import { HealthMonitor } from './platform/watchdog.js';
import { effectiveConfig, settingsNeedingRestart } from './config/diff.js';
import { TokenUseFile } from './platform/token-use.js';
import { reloadDevices, type DeviceReloadResult } from './reload.js';
import { AlarmService } from './alarms/service.js';

export interface GatewayOptions {
  config: GatewayConfig;
  log: Logger;
}

export class Gateway {
  readonly registry: Registry;
  readonly control: ControlService;
  readonly history: History;
  /** The history kept on disk (`history.store`), or undefined when it is disabled. */
  readonly historian: Historian | undefined;
  readonly server: Server;
  /** Every control write, appended to <state_dir>/audit.jsonl. */
  readonly audit: AuditLog;
  /** Tokens, roles, origins and limits; a reload replaces them live. */
  readonly security: Security;
  /** When each token was last used, kept in the state directory across restarts. */
  readonly tokenUse: TokenUseFile;
  /** Limits, discrete and offline alarms (ISA-18.2 states), evaluated from registry diffs. */
  readonly alarms: AlarmService;
  private drivers: Driver[] = [];
  /** Everything that consumes registry diffs (history, alarms, MQTT, the WebSocket publisher), in start order. */
  private readonly consumerList: DiffConsumer[] = [];
  private readonly owner = new Map<string, Driver>();
  private state: 'new' | 'starting' | 'ready' | 'stopping' | 'stopped' = 'new';
  readonly startedAt = Date.now();
  /** Event-loop and driver-progress health: feeds the systemd watchdog, /metrics and `mgw status`. */
  readonly health: HealthMonitor;
  /** Re-reads the config source and reloads; set by whoever knows the source (`mgw serve`). */
  reloader: (() => Promise<ReloadOutcome>) | undefined;

  constructor(private readonly options: GatewayOptions) {
    const { config, log } = options;
    this.registry = new Registry({ replaySize: config.registry.replay_size });
    this.history = new History({ windowS: config.history.window_s, resolutionMs: config.history.resolution_ms });
    this.addConsumer(this.history);
    if (config.history.store.enabled) {
      this.historian = new Historian({ dir: join(stateDir(config.state_dir), 'history'), config: config.history.store, registry: this.registry, log: log.child({ module: 'historian' }) });
      this.addConsumer(this.historian);
    }
    this.registry.onDiff((diff) => {
      for (const c of this.consumerList) c.onDiff(diff);
    });
    this.health = new HealthMonitor({ config: () => this.options.config.health, drivers: () => this.drivers });
    this.audit = new AuditLog({ file: auditFile(config.state_dir), log: log.child({ module: 'audit' }) });
    this.control = new ControlService({
      registry: this.registry,
      driverFor: (id) => this.owner.get(id),
      timeoutMs: config.server.control_timeout_ms,
      audit: this.audit,
    });
    // Acknowledging or shelving an alarm is an operator action like a write: same audit trail.
    this.alarms = new AlarmService({ config, registry: this.registry, log: log.child({ module: 'alarms' }), audit: this.audit });
    this.addConsumer(this.alarms);
    this.security = new Security({ auth: config.auth, limits: config.limits, log: log.child({ module: 'security' }) });
    this.tokenUse = new TokenUseFile({ dir: stateDir(config.state_dir), security: this.security, log: log.child({ module: 'security' }) });
    this.server = new Server({
      security: this.security,
      configView: () => redactConfig(this.options.config),
      config: config.server,
      registry: this.registry,
      control: this.control,
      history: this.history,
      historian: this.historian,
      alarms: this.alarms,
      log: log.child({ module: 'server' }),
      readiness: () =>
        this.state === 'ready'
          ? { ready: true, linksDown: this.linksDown(), consumersDown: this.consumersDown(), auditProblem: this.audit.problem }
          : { ready: false, reason: this.state },
      modbus: { buses: () => this.modbusBuses(), audit: this.audit },
      line: { ports: () => this.linePorts(), audit: this.audit },
      insight: { drivers: () => this.drivers, consumers: () => this.consumerList, health: this.health, startedAt: this.startedAt, reload: () => this.reloader?.(), audit: this.audit, historian: this.historian },
    });
  }

  /**
   * Adds a consumer of registry diffs (before start): it is started after the registry holds
   * every device and before the drivers report, and stopped after them.
   */
  addConsumer(consumer: DiffConsumer): void {
    if (this.state !== 'new') throw new Error(`consumer ${consumer.name} added after the gateway started`);
    if (this.consumerList.some((c) => c.name === consumer.name)) throw new Error(`consumer ${consumer.name} is already added`);
    this.consumerList.push(consumer);
  }

  consumers(): readonly DiffConsumer[] {
    return this.consumerList;
  }

  get config(): GatewayConfig {
    return this.options.config;
  }

  /** The configured Modbus buses, with the running bus of each one a device uses (commissioning). */
  private modbusBuses(): ModbusBusInfo[] {
    return this.options.config.buses.map((b) => {
      const driver = this.drivers.find((d) => d.id === `modbus:${b.id}`) as (Driver & { commissioner?: CommissioningBus }) | undefined;
      const tcp = b.kind === 'tcp' || b.kind === 'rtu_over_tcp';
      return { id: b.id, kind: b.kind, ...(tcp ? { host: b.host, tcp_port: b.port } : { port: b.port }), held: driver?.commissioner };
    });
  }

  /** The serial ports line devices use, each held by its driver (`mgw line send` through the gateway). */
  private linePorts(): LinePortInfo[] {
    const out: LinePortInfo[] = [];
    for (const d of this.drivers) {
      const line = d as Driver & Partial<Omit<LinePortInfo, 'devices'>>;
      if (!d.id.startsWith('line:') || typeof line.send !== 'function' || line.path === undefined) continue;
      const driver = line as Driver & Omit<LinePortInfo, 'devices'>;
      out.push({ path: driver.path, linkUp: driver.linkUp, devices: d.devices().map((x) => x.id), send: (p, n, t) => driver.send(p, n, t) });
    }
    return out;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** Drivers whose field link (bus, port) reports down in its counters (`link_up: 0`). */
  linksDown(): string[] {
    return this.drivers.filter((d) => d.health?.().counters?.['link_up'] === 0).map((d) => d.id);
  }

  /** Consumers that cannot do their job now (the plant broker is unreachable), with why. */
  consumersDown(): { name: string; reason: string }[] {
    const out: { name: string; reason: string }[] = [];
    for (const c of this.consumerList) {
      const h = c.health?.();
      if (h !== undefined && !h.ok) out.push({ name: c.name, reason: h.reason ?? 'not working' });
    }
    return out;
  }

  driverList(): readonly Driver[] {
    return this.drivers;
  }

  async start(): Promise<number> {
    const { log } = this.options;
    await this.addNorthbound();
    // Last, as before: clients hear a diff after the history, the alarms and MQTT took it.
    this.addConsumer(this.server.publisher);
    this.state = 'starting';
    this.health.start();
    this.drivers = await createDrivers(this.options.config, (driverId) => this.contextFor(driverId));
    for (const driver of this.drivers) {
      for (const desc of driver.devices()) {
        this.registry.add(desc);
        this.owner.set(desc.id, driver);
      }
    }
    await this.audit.start();
    this.tokenUse.start();
    for (const c of this.consumerList) await c.start();
    const port = await this.server.start();
    for (const driver of this.drivers) {
      await driver.start();
      log.info({ driver: driver.id, devices: driver.devices().length }, 'driver started');
    }
    this.state = 'ready';
    log.info({ devices: this.registry.size, port }, 'gateway ready');
    return port;
  }

  async stop(): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return;
    this.state = 'stopping';
    await this.server.stop();
    const results = await Promise.allSettled(this.drivers.map((d) => d.stop()));
    results.forEach((r, i) => {
      if (r.status === 'rejected') this.options.log.error({ driver: this.drivers[i]!.id, err: r.reason }, 'driver did not stop cleanly');
    });
    for (const c of [...this.consumerList].reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.options.log.error({ consumer: c.name, err }, 'consumer did not stop cleanly');
      }
    }
    await this.audit.stop();
    await this.tokenUse.stop();
    this.health.stop();
    this.state = 'stopped';
    this.options.log.info('gateway stopped');
  }

  /**
   * Applies a validated config to the running gateway: devices and health settings now (only
   * the drivers whose devices changed restart); other changed settings are listed as needing
   * a restart and keep their running values.
   */
  async reload(next: GatewayConfig): Promise<DeviceReloadResult & { restartRequired: string[] }> {
    const current = this.options.config;
    const restartRequired = settingsNeedingRestart(current, next);
    const effective = effectiveConfig(current, next);
    // A renewed certificate (same files, new contents) is checked first too: an unusable one refuses the reload.
    const tls = this.server.prepareTlsReload();
    // First, so a refused auth change (all tokens dropped on a LAN address) stops the whole reload.
    this.security.update({ auth: effective.auth, limits: effective.limits }, current.server.host, this.server.webSockets);
    const candidates = await createDrivers(effective, (driverId) => this.contextFor(driverId));
    const result = await reloadDevices({ current, next: effective, running: this.drivers, candidates, registry: this.registry, owner: this.owner, log: this.options.log });
    // The alarms first: the consumers then forget a removed device with its alarms already gone
    // (the northbound publisher empties every retained topic the gateway no longer describes).
    this.alarms.reload(effective);
    for (const id of result.devicesRemoved) for (const c of this.consumerList) c.forget?.(id);
    this.drivers = result.drivers;
    this.options.config = effective;
    for (const c of this.consumerList) c.reloaded?.();
    if (tls?.swap !== undefined) tls.swap();
    else if (tls !== undefined) {
      this.options.log.warn({ module: 'server' }, tls.why);
      restartRequired.push('server.tls (the certificate files changed)');
    }
    // Recorded with who asked (REST: the admin token; SIGHUP: "signal") and what changed in the tokens.
    await this.audit.append(toReloadRecord(current.auth.tokens, effective.auth.tokens, reloadRequester.getStore())).catch(() => undefined);
    void this.tokenUse.flush();
    return { ...result, restartRequired };
  }

  /**
   * The MQTT publisher when `northbound.enabled`: imported only then, since mqtt and protobufjs
   * cost a gateway without it ~20 MiB and a good part of its start-up.
   */
  private async addNorthbound(): Promise<void> {
    const { config, log } = this.options;
    if (!config.northbound.enabled) return;
    const { createNorthbound } = await import('./northbound/index.js');
    const northbound = createNorthbound({
      config,
      stateDir: stateDir(config.state_dir),
      registry: this.registry,
      control: this.control,
      audit: this.audit,
      tokens: () => this.security.tokens,
      log,
      alarms: this.alarms.table,
      alarmActions: { view: (id) => this.alarms.table.view(id), act: (action, id, who, opts) => this.alarms.act(action, id, who, opts) },
    });
    if (northbound !== undefined) this.addConsumer(northbound);
  }

  private contextFor(driverId: string): DriverContext {
    const log = this.options.log.child({ module: 'driver', driver: driverId });
    const registry = this.registry;
    return {
      log,
      sink: {
        report(deviceId, values, action, quality) {
          try {
            registry.apply(deviceId, values, action, quality);
          } catch (err) {
            log.error({ device: deviceId, err }, 'driver reported values the registry refused');
          }
        },
        setOnline(deviceId, online, reason) {
          if (registry.setOnline(deviceId, online) !== null) {
            if (online) log.info({ device: deviceId }, 'device online');
            else log.warn({ device: deviceId, reason }, 'device offline');
          }
        },
      },
    };
  }
}
