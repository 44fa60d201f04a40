/**
 * The uWS application: REST and WebSocket. Its publisher (registry diffs to device topics) is a
 * diff consumer the composition root adds like the others (`server.publisher`). `start()` listens, `stop()` closes in two phases: stop accepting, then close every
 * WebSocket with 1001 and every idle HTTP connection.
 */
import type { HttpResponse, RecognizedString, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { ControlService } from '../core/control.js';
import type { Registry } from '../core/registry.js';
import type { ServerConfig } from '../config/schema.js';
import { uws, uwsBuild } from './uws.js';
import { newStats, type Readiness, type ServerContext, type ServerStats } from './context.js';
import { registerRest } from './rest.js';
import { registerWebSocket } from './ws.js';
import type { Connection } from './ws-connection.js';
import { WebSocketPublisher } from './ws-publisher.js';
import { DeviceTopics } from './ws-topics.js';
import { countedApp } from './router.js';
import { sendJson, startReply } from './http.js';
import { registerMetrics, type Insight } from './metrics.js';
import { registerAdmin } from './admin.js';
import { registerModbusAdmin, type ModbusAdminOptions } from './modbus-admin.js';
import { registerLineAdmin, type LineAdminOptions } from './line-admin.js';
import type { History } from '../core/history.js';
import { registerHistory } from './history-route.js';
import { registerAudit } from './audit-route.js';
import type { Historian } from '../historian/historian.js';
import { StaticSite } from './static.js';
import { Security } from './auth-guard.js';
import { canSwapCertificate, certificateFingerprint, checkTlsFiles, certificateInfo, createApp, descriptorOf, type AcceptingApp } from './auth-tls.js';
import { registerAuthRoutes } from './auth-routes.js';
import { BackpressureSweep } from './limits-backpressure.js';
import { registerHeadGuard } from './limits-http.js';
import type { AlarmService } from '../alarms/service.js';
import { registerAlarmRoutes } from './alarms-routes.js';
import { publishAlarms } from './alarms-ws.js';

export interface ServerOptions {
  config: ServerConfig;
  registry: Registry;
  control: ControlService;
  log: Logger;
  /** Per-point history for trends; without it the history route is not served. */
  history?: History;
  /** The history store behind from/to/resolution requests; absent when history.store is off. */
  historian?: Historian | undefined;
  readiness?: () => Readiness;
  /** Tokens, roles, origin checks and limits; without it the server is open (loopback only). */
  security?: Security;
  /** The whole config as an admin may read it (GET /api/v1/config), secrets removed. */
  configView?: () => unknown;
  /** Health, drivers and reload for /metrics, /api/v1/status and /api/v1/admin/reload. */
  insight?: Insight;
  /** The alarm system: its routes and the `alarms` WebSocket topic. */
  alarms?: AlarmService;
  /** Modbus commissioning through the gateway (src/server/modbus-admin.ts). */
  modbus?: ModbusAdminOptions;
  /** `mgw line send` through the gateway (src/server/line-admin.ts). */
  line?: LineAdminOptions;
}

export class Server {
  readonly stats: ServerStats = newStats();
  private app: TemplatedApp | undefined;
  /** The apps with the routes: the listening app itself, or (TLS on a build that can swap certificates) its children, newest last. */
  private apps: TemplatedApp[] = [];
  /** The listening app when it hands sockets to `apps` (see start). */
  private acceptor: AcceptingApp | undefined;
  /** sha256 of the certificate and key files being served. */
  private certificate: string | undefined;
  private ctx: ServerContext | undefined;
  /** When the last over-the-cap line was logged (stats.tcpConnections* hold the counts). */
  private capLoggedAt = 0;
  private connectionCap = false;
  private listenSocket: us_listen_socket | undefined;
  private readonly sockets = new Set<WebSocket<Connection>>();
  private unsubscribe: (() => void) | undefined;
  /** Which topics carry each device's diffs: its own, and the lists shared by connections that follow every device. */
  private readonly topics = new DeviceTopics();
  /** Registry diffs to device topics: a DiffConsumer, added to the gateway's consumers. */
  readonly publisher = new WebSocketPublisher(this.stats, this.topics);
  /** Closes subscribers whose queue passed server.max_backpressure_bytes (src/server/limits-backpressure.ts). */
  private sweep: BackpressureSweep | undefined;
  private boundPort = 0;

  constructor(private readonly options: ServerOptions) {}

  get port(): number {
    return this.boundPort;
  }

  get connections(): number {
    return this.sockets.size;
  }

  /** The open WebSockets (a reload closes those whose token was revoked). */
  get webSockets(): ReadonlySet<WebSocket<Connection>> {
    return this.sockets;
  }

  async start(): Promise<number> {
    const { config, registry, log } = this.options;
    const lib = uws();
    const security = this.options.security ?? Security.open(log);
    security.checkExposure(config.host);
    const app = createApp(lib, config.tls, log);
    const ctx: ServerContext = {
      config,
      registry,
      control: this.options.control,
      log,
      readiness: this.options.readiness ?? (() => ({ ready: true })),
      stats: this.stats,
      security,
      alarms: this.options.alarms,
    };
    this.ctx = ctx;
    if (config.tls !== undefined && canSwapCertificate(app)) {
      // The listening app only hands each accepted socket to the app that serves it (before
      // any TLS byte), so a renewed certificate is a new serving app swapped in (prepareTlsReload).
      const serving = createApp(lib, config.tls, log);
      this.register(serving, ctx);
      app.addChildAppDescriptor(descriptorOf(serving));
      this.acceptor = app;
      this.apps = [serving];
    } else {
      this.register(app, ctx);
      this.apps = [app];
    }
    if (config.tls !== undefined) this.certificate = certificateFingerprint(config.tls);

    // One serialisation per diff, one publish per device topic: uWS fans it out natively (to
    // each serving app: connections made before a certificate reload stay on the previous one).
    this.sweep = new BackpressureSweep({ sockets: this.sockets, limitBytes: config.max_backpressure_bytes, log });
    this.sweep.start();
    const fanOut = {
      // Every app, whatever the others answered (an app without subscribers may answer false).
      publish: (topic: RecognizedString, message: RecognizedString, isBinary?: boolean, compress?: boolean) => {
        let any = false;
        for (const a of this.apps) any = a.publish(topic, message, isBinary, compress) || any;
        return any;
      },
      numSubscribers: (topic: RecognizedString) => this.apps.reduce((n, a) => n + a.numSubscribers(topic), 0),
    };
    this.topics.attach((topic) => fanOut.numSubscribers(topic));
    this.publisher.attach(fanOut);
    this.unsubscribe = this.options.alarms ? publishAlarms(fanOut, this.options.alarms) : undefined;

    this.listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
      app.listen(config.host, config.port, (socket) => {
        if (socket) resolve(socket);
        else reject(new Error(`cannot listen on ${config.host}:${config.port}: the address is in use or not available on this machine`));
      });
    });
    this.app = app;
    this.boundPort = lib.us_socket_local_port(this.listenSocket as never);
    // Which uWS build fits this Node and glibc (see uws.ts): the first thing to ask about a crash.
    const cap = this.connectionCap ? config.max_http_connections : `not enforced by ${uwsBuild().build.label}`;
    // port stays the last field: scripts read `"port":N,"msg":"listening"`.
    log.info({ uws: uwsBuild().build.label, node: process.versions.node, host: config.host, max_http_connections: cap, port: this.boundPort }, 'listening');
    return this.boundPort;
  }

  /**
   * Caps the TCP connections of every serving app together at server.max_http_connections where
   * the build has a connection filter (20.57: called with +1 on open, -1 on close, before any
   * request); one over is closed at once. False where it has none (20.30).
   */
  private capConnections(app: TemplatedApp, ctx: ServerContext): boolean {
    const filter = (app as unknown as { filter?: (cb: (res: HttpResponse, count: number) => void) => unknown }).filter;
    if (typeof filter !== 'function') return false;
    filter.call(app, (res, count) => {
      this.stats.tcpConnections += count;
      if (count <= 0 || this.stats.tcpConnections <= ctx.config.max_http_connections) return;
      this.stats.tcpConnectionsRefused++;
      const now = Date.now();
      // One line per 10 s at most under a flood (the log lives on an SD card).
      if (now - this.capLoggedAt >= 10_000) {
        this.capLoggedAt = now;
        ctx.log.warn({ max_http_connections: ctx.config.max_http_connections, refused_total: this.stats.tcpConnectionsRefused }, 'connection closed: server.max_http_connections reached');
      }
      res.close();
    });
    return true;
  }

  /** Every route and the WebSocket endpoint, on one serving app. */
  private register(serving: TemplatedApp, ctx: ServerContext): void {
    this.connectionCap = this.capConnections(serving, ctx);
    // Routes register through the counting router: every HTTP request is counted once there.
    const app = countedApp(serving, this.stats);
    registerHeadGuard(app);
    registerAuthRoutes(app, ctx, this.options.configView);
    registerRest(app, ctx);
    registerWebSocket(app, ctx, this.sockets, this.topics, this.publisher);
    if (this.options.insight) registerMetrics(app, ctx, this.options.insight);
    if (this.options.insight) registerAdmin(app, ctx, this.options.insight);
    if (this.options.modbus) registerModbusAdmin(app, ctx, this.options.modbus);
    if (this.options.line) registerLineAdmin(app, ctx, this.options.line);
    if (this.options.history) registerHistory(app, ctx, this.options.history, this.options.historian);
    if (this.options.alarms) registerAlarmRoutes(app, ctx, this.options.alarms);
    const audit = this.options.insight?.audit;
    if (audit) registerAudit(app, ctx, () => audit.file);
    new StaticSite({ log: ctx.log }).register(app);
    app.any('/*', (res, req) => {
      const url = req.getUrl();
      sendJson(startReply(res), 404, { error_code: 'not_found', message: `no such path: ${url.slice(0, 200)}` });
    });
  }

  /**
   * A reload's look at server.tls: when the certificate or key file changed on disk (a renewal),
   * checks the new pair (throws, with the setting and why, when it is unusable: the reload is
   * then refused) and returns how to start serving it. `swap` is undefined when the uWS build
   * cannot change the certificate of a running server; the caller says a restart is needed.
   * Undefined when nothing changed (or no TLS).
   */
  prepareTlsReload(): { swap: (() => void) | undefined; why?: string } | undefined {
    const tls = this.options.config.tls;
    const ctx = this.ctx;
    if (tls === undefined || ctx === undefined || this.certificate === undefined) return undefined;
    const next = certificateFingerprint(tls);
    if (next === this.certificate) return undefined;
    const acceptor = this.acceptor;
    if (acceptor === undefined) {
      // Not served before a restart, but a restart with an unusable pair would not start: refuse now.
      checkTlsFiles(tls, ctx.log);
      return { swap: undefined, why: `server.tls: ${tls.cert_file} or ${tls.key_file} changed, but ${uwsBuild().build.label} cannot swap the certificate of a running server (README "Supported platforms"); it is served after a restart` };
    }
    const serving = createApp(uws(), tls, ctx.log);
    this.register(serving, ctx);
    return {
      swap: () => {
        acceptor.addChildAppDescriptor(descriptorOf(serving));
        acceptor.removeChildAppDescriptor(descriptorOf(this.apps[this.apps.length - 1]!));
        // The previous app keeps serving the connections it has (and gets publishes for them).
        this.apps.push(serving);
        this.certificate = next;
        ctx.log.info({ cert_file: tls.cert_file, ...certificateInfo(tls.cert_file) }, 'TLS certificate reloaded: new connections get it, open ones keep theirs');
      },
    };
  }

  /** Stops accepting, closes every WebSocket with 1001 (going away), then the app. */
  async stop(): Promise<void> {
    this.publisher.attach(undefined);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.sweep?.stop();
    if (this.listenSocket !== undefined) {
      uws().us_listen_socket_close(this.listenSocket);
      this.listenSocket = undefined;
    }
    for (const ws of [...this.sockets]) ws.end(1001, 'server shutting down');
    this.sockets.clear();
    // app.close() exists in uWS 20.30 but is not typed: it closes idle keep-alive connections.
    for (const app of new Set([this.app, ...this.apps])) (app as unknown as { close?: () => void } | undefined)?.close?.();
    this.app = undefined;
    this.apps = [];
    this.acceptor = undefined;
  }
}
