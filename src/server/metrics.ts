/**
 * Operations endpoints: GET /metrics (Prometheus text format 0.0.4) for scraping and
 * GET /api/v1/status (JSON) behind `mgw status`. Both read counters that already exist; a
 * scrape costs one pass over drivers and devices, nothing is kept between scrapes.
 */
import type { ReloadOutcome } from '../protocol/wire.js';
import { readFileSync, readdirSync } from 'node:fs';
import type { TemplatedApp } from 'uWebSockets.js';
import type { Driver } from '../core/driver.js';
import type { DiffConsumer } from '../core/consumer.js';
import type { HealthMonitor } from '../platform/watchdog.js';
import type { Historian } from '../historian/historian.js';
import { TIERS } from '../historian/store.js';
import type { ServerContext } from './context.js';
import { sendJson, sendText, startReply } from './http.js';
import { alarmMetrics } from './alarms-metrics.js';
import { isoTime } from '../core/time.js';

/** What the operations endpoints need from the gateway around the server. */
export interface Insight {
  drivers: () => readonly Driver[];
  /** Consumers of registry diffs (history, northbound MQTT): their health and counters. */
  consumers?: () => readonly DiffConsumer[];
  health: HealthMonitor;
  /** ms since epoch */
  startedAt: number;
  /** Re-reads and applies the config; undefined result when no config source is known. */
  reload: () => Promise<ReloadOutcome> | undefined;
  /** The audit trail's state (src/platform/audit.ts). */
  audit?: AuditState;
  /** The history store, when history.store is on. */
  historian?: Historian | undefined;
}

export interface AuditState {
  readonly file: string;
  readonly problem: string | undefined;
  readonly written: number;
  readonly pending: number;
  readonly failures: number;
  readonly lost: number;
  readonly syncs: number;
}

export function registerMetrics(app: TemplatedApp, ctx: ServerContext, insight: Insight): void {
  // Scrapers and `mgw status` need role viewer when tokens are configured.
  app.get('/metrics', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    sendText(reply, 200, 'text/plain; version=0.0.4; charset=utf-8', renderMetrics(ctx, insight));
  });
  app.get('/api/v1/status', (res, req) => {
    const reply = startReply(res);
    if (ctx.security.rest(req, reply, 'read') === undefined) return;
    sendJson(reply, 200, statusReport(ctx, insight));
  });
}

export interface StatusReport {
  /** degraded: running, but control writes are refused (the audit trail cannot be written). */
  status: 'ok' | 'degraded' | 'unhealthy' | 'starting' | 'stopping';
  problems: string[];
  uptime_s: number;
  started_at: string;
  pid: number;
  node: string;
  instance: string;
  clients: number;
  devices: { total: number; online: number; offline: string[] };
  drivers: { id: string; devices: number; last_progress_age_s: number | null; counters: Record<string, number> }[];
  audit?: { file: string; writable: boolean; problem: string | null; records_written: number; records_pending: number };
  /** Consumers that report health (the northbound broker link): ok, why not, counters. */
  consumers: { name: string; ok: boolean; reason?: string; counters: Record<string, number> }[];
}

export function statusReport(ctx: ServerContext, insight: Insight): StatusReport {
  const now = Date.now();
  const devices = ctx.registry.list();
  const ready = ctx.readiness();
  const health = insight.health.state;
  const audit = insight.audit;
  const problems = [...health.problems];
  if (audit?.problem !== undefined) problems.push(`audit trail: ${audit.problem}; control writes are refused`);
  const status = !ready.ready
    ? ready.reason === 'stopping' || ready.reason === 'stopped'
      ? 'stopping'
      : 'starting'
    : !health.healthy
      ? 'unhealthy'
      : audit?.problem !== undefined
        ? 'degraded'
        : 'ok';
  return {
    status,
    problems,
    uptime_s: Math.round((now - insight.startedAt) / 1000),
    started_at: isoTime(insight.startedAt),
    pid: process.pid,
    node: process.version,
    instance: ctx.registry.instance,
    clients: ctx.stats.connections,
    devices: { total: devices.length, online: devices.filter((d) => d.online).length, offline: devices.filter((d) => !d.online).map((d) => d.device_id) },
    drivers: insight.drivers().map((d) => {
      const h = d.health?.();
      const last = h?.lastProgress ?? null;
      return { id: d.id, devices: d.devices().length, last_progress_age_s: last === null ? null : Math.max(0, (now - last) / 1000), counters: h?.counters ?? {} };
    }),
    ...(audit === undefined
      ? {}
      : { audit: { file: audit.file, writable: audit.problem === undefined, problem: audit.problem ?? null, records_written: audit.written, records_pending: audit.pending } }),
    consumers: consumerHealth(insight),
  };
}

function consumerHealth(insight: Insight): StatusReport['consumers'] {
  const out: StatusReport['consumers'] = [];
  for (const c of insight.consumers?.() ?? []) {
    const h = c.health?.();
    if (h === undefined) continue;
    out.push({ name: c.name, ok: h.ok, ...(h.reason === undefined ? {} : { reason: h.reason }), counters: h.counters ?? {} });
  }
  return out;
}

/** Prometheus text exposition. Metric names follow the Prometheus naming guide (units in the name). */
export function renderMetrics(ctx: ServerContext, insight: Insight): string {
  const out = new MetricWriter();
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  out.metric('process_cpu_seconds_total', 'counter', 'User and system CPU time spent.', [[{}, (cpu.user + cpu.system) / 1e6]]);
  out.metric('process_resident_memory_bytes', 'gauge', 'Resident set size.', [[{}, mem.rss]]);
  out.metric('process_heap_bytes', 'gauge', 'V8 heap in use.', [[{}, mem.heapUsed]]);
  out.metric('process_start_time_seconds', 'gauge', 'Start time of the process since the epoch.', [[{}, Math.round(Date.now() / 1000 - process.uptime())]]);
  const fds = openFds();
  if (fds !== null) out.metric('process_open_fds', 'gauge', 'Open file descriptors.', [[{}, fds]]);
  const maxFds = maxOpenFiles();
  if (maxFds !== null) out.metric('process_max_fds', 'gauge', 'Limit on open file descriptors (every client socket is one; LimitNOFILE= in the unit).', [[{}, maxFds]]);

  const h = insight.health.loopDelay;
  const sec = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  out.metric('mgw_event_loop_delay_seconds', 'summary', 'Event-loop delay since start.', [
    [{ quantile: '0.5' }, sec(h.percentile(50))],
    [{ quantile: '0.99' }, sec(h.percentile(99))],
    [{ quantile: '1' }, sec(h.max)],
  ]);
  out.metric('mgw_healthy', 'gauge', '1 while the gateway is healthy (the systemd watchdog is fed only then).', [[{}, insight.health.state.healthy ? 1 : 0]]);

  const s = ctx.stats;
  out.metric('mgw_ws_connections', 'gauge', 'Open WebSocket connections.', [[{}, s.connections]]);
  out.metric('mgw_ws_connections_total', 'counter', 'WebSocket connections accepted.', [[{}, s.connectionsTotal]]);
  out.metric('mgw_ws_connections_refused_total', 'counter', 'WebSocket connections refused (limits, auth).', [[{}, s.connectionsRefused]]);
  out.metric('mgw_ws_closed_slow_total', 'counter', 'WebSocket clients closed for backpressure.', [[{}, s.closedSlow]]);
  out.metric('mgw_ws_messages_in_total', 'counter', 'WebSocket messages received.', [[{}, s.messagesIn]]);
  out.metric('mgw_ws_messages_out_total', 'counter', 'WebSocket messages sent directly (not counting topic fan-out).', [[{}, s.messagesOut]]);
  out.metric('mgw_publishes_total', 'counter', 'Registry diffs published to device topics.', [[{}, s.publishes]]);
  out.metric('mgw_http_requests_total', 'counter', 'HTTP requests received, counted once in the router for every path: REST, /metrics (a scrape counts itself), /healthz, /readyz, the HMI files, HEAD and 404/405 answers. WebSocket upgrades are not: they count in mgw_ws_connections_total.', [[{}, s.httpRequests]]);
  out.metric('mgw_tcp_connections', 'gauge', 'Open TCP connections, HTTP and WebSocket (counted on the uWS 20.57 build only; 0 on 20.30).', [[{}, s.tcpConnections]]);
  out.metric('mgw_tcp_connections_refused_total', 'counter', 'Connections closed as they opened, past server.max_http_connections (uWS 20.57 only).', [[{}, s.tcpConnectionsRefused]]);

  const audit = insight.audit;
  if (audit !== undefined) {
    out.metric('mgw_audit_writable', 'gauge', '1 while the audit trail can be written; 0 while control writes are refused for it (full disk, read-only file system).', [[{}, audit.problem === undefined ? 1 : 0]]);
    out.metric('mgw_audit_records_written_total', 'counter', 'Audit records written and fsync\'d.', [[{}, audit.written]]);
    out.metric('mgw_audit_fsyncs_total', 'counter', 'fdatasync calls of the audit trail (concurrent records share one).', [[{}, audit.syncs]]);
    out.metric('mgw_audit_records_pending', 'gauge', 'Audit records in memory waiting for the disk.', [[{}, audit.pending]]);
    out.metric('mgw_audit_write_failures_total', 'counter', 'Failed writes to the audit trail.', [[{}, audit.failures]]);
    out.metric('mgw_audit_records_lost_total', 'counter', 'Audit records dropped from memory after the disk refused them too long (they are in the log).', [[{}, audit.lost]]);
  }

  const devices = ctx.registry.list();
  out.metric('mgw_registry_devices', 'gauge', 'Devices in the registry.', [[{}, devices.length]]);
  out.metric('mgw_devices_online', 'gauge', 'Devices currently answering.', [[{}, devices.filter((d) => d.online).length]]);
  out.metric('mgw_device_online', 'gauge', '1 if the device answers.', devices.map((d) => [{ device: d.device_id }, d.online ? 1 : 0]));
  out.metric('mgw_device_diffs_total', 'counter', 'Diffs published for the device (its seq).', devices.map((d) => [{ device: d.device_id }, d.seq]));

  const now = Date.now();
  const drivers = insight.drivers();
  const progress: Sample[] = [];
  const stats: Sample[] = [];
  for (const d of drivers) {
    const health = d.health?.();
    if (health === undefined) continue;
    if (health.lastProgress !== null) progress.push([{ driver: d.id }, Math.max(0, (now - health.lastProgress) / 1000)]);
    for (const [key, value] of Object.entries(health.counters ?? {})) {
      // Per-device counters arrive as `device:<id>:<name>` (the Modbus driver): a device label.
      const m = /^device:(.+):([^:]+)$/.exec(key);
      stats.push([m ? { driver: d.id, device: m[1]!, name: m[2]! } : { driver: d.id, name: key }, value]);
    }
  }
  out.metric('mgw_driver_devices', 'gauge', 'Devices owned by the driver (bus, port, simulator).', drivers.map((d) => [{ driver: d.id }, d.devices().length]));
  out.metric('mgw_driver_last_progress_age_seconds', 'gauge', 'Seconds since the driver last completed a transaction.', progress);
  if (insight.historian !== undefined) historyMetrics(out, insight.historian);
  const consumers = consumerHealth(insight);
  out.metric('mgw_consumer_up', 'gauge', '1 while the consumer does its job (northbound: broker connected and, for Sparkplug, the primary host online).', consumers.map((c) => [{ consumer: c.name }, c.ok ? 1 : 0]));
  out.metric(
    'mgw_consumer_stat',
    'untyped',
    "The consumer's counters (northbound: link_up, connects_total, queued, stored_total, forwarded_total, dropped_total, commands_refused_total, ...).",
    consumers.flatMap((c) => Object.entries(c.counters).map(([name, value]): Sample => [{ consumer: c.name, name }, value])),
  );
  out.metric('mgw_driver_stat', 'untyped', "The driver's own counters and timings (transactions, timeouts, retries, round-trip ms), by name and, where the driver keeps them per device, by device.", stats);
  if (ctx.alarms) for (const m of alarmMetrics(ctx.alarms)) out.metric(m.name, m.type, m.help, m.samples);
  return out.text();
}

/** The flash budget and the store's reach: what a technician watches on an SD card. */
function historyMetrics(out: MetricWriter, historian: Historian): void {
  const store = historian.store;
  const c = store.counters;
  out.metric('mgw_history_samples_written_total', 'counter', 'Raw samples written to the history store.', [[{}, c.samples_written]]);
  out.metric('mgw_history_aggregates_written_total', 'counter', 'Minute and hour buckets written.', [[{}, c.aggregates_written]]);
  out.metric('mgw_history_bytes_written_total', 'counter', 'Bytes appended to the store (all tiers).', [[{}, c.bytes_written]]);
  out.metric('mgw_history_bytes_written_last_minute', 'gauge', 'Bytes appended in the last minute: the flash budget.', [[{}, store.bytesLastMinute()]]);
  out.metric('mgw_history_store_bytes', 'gauge', 'Size of the store on disk by tier.', TIERS.map((t) => [{ tier: t }, store.tierBytes(t)]));
  out.metric(
    'mgw_history_oldest_sample_seconds',
    'gauge',
    'Time of the oldest record kept, by tier (seconds since the epoch).',
    TIERS.flatMap((t): Sample[] => {
      const o = store.oldest(t);
      return o === null ? [] : [[{ tier: t }, o / 1000]];
    }),
  );
  out.metric('mgw_history_pending_samples', 'gauge', 'Samples waiting for the next batch.', [[{}, store.pendingSamples]]);
  // Write latency of one flush (all tiers, datasync included): last, worst, and sum / count for a mean.
  out.metric('mgw_history_batch_last_seconds', 'gauge', 'Time the last flush took to write.', [[{}, c.last_batch_ms / 1000]]);
  out.metric('mgw_history_batch_max_seconds', 'gauge', 'Longest flush since start.', [[{}, c.max_batch_ms / 1000]]);
  out.metric('mgw_history_batch_seconds_total', 'counter', 'Time spent writing flushes.', [[{}, c.batch_ms_sum / 1000]]);
  out.metric('mgw_history_batches_total', 'counter', 'Flushes that wrote something.', [[{}, c.batches_written]]);
  out.metric('mgw_history_batch_failures_total', 'counter', 'Batches that could not be written (their samples are lost).', [[{}, c.batch_failures]]);
  out.metric('mgw_history_segments_dropped_total', 'counter', 'Segments deleted, by reason.', [
    [{ reason: 'retention' }, c.segments_dropped_retention],
    [{ reason: 'size_cap' }, c.segments_dropped_size_cap],
  ]);
  out.metric('mgw_history_up', 'gauge', '1 while the store writes; 0 when it cannot (see the log).', [[{}, historian.health().ok ? 1 : 0]]);
}

type Labels = Record<string, string>;
type Sample = [Labels, number];

class MetricWriter {
  private readonly lines: string[] = [];

  metric(name: string, type: string, help: string, samples: Sample[]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.lines.push(`${name}${labelText(labels)} ${formatValue(value)}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** The soft limit on open files, from /proc/self/limits (Node has no getrlimit). */
function maxOpenFiles(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

function openFds(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}
