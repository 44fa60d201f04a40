/**
 * The serial line-protocol driver: one instance per port, serving every device configured on
 * that port. Polled points are asked for on each device's interval (one request on the port at a
 * time, through the shared bus scheduler), streamed lines are parsed as they arrive, writes are
 * sent from templates and confirmed by the acknowledgement or a read-back.
 */
import { GatewayError } from '../../src/core/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../../src/core/driver.js';
import type { PointValue, Quality } from '../../src/core/points.js';
import type { DeviceDescriptor } from '../../src/core/registry.js';
import type { LineDeviceConfig, LinePointConfig } from './config.js';
import { placement } from '../../src/config/fields.js';
import { captured, formatValue, groupCount, groupOf, parseValue, pointMeta } from './convert.js';
import type { DiscardKind } from './framer.js';
import { LineLink, type Verdict } from './link.js';
import { LogThrottle } from './throttle.js';

interface LinePoint {
  name: string;
  cfg: LinePointConfig;
  pattern: RegExp | undefined;
  group: string | number;
  ack: RegExp | undefined;
  /** The ack group holding the confirmed value, when the ack pattern captures one. */
  ackGroup: string | number | undefined;
}

interface PollGroup {
  command: string;
  points: LinePoint[];
}

interface LineDevice {
  cfg: LineDeviceConfig;
  desc: DeviceDescriptor;
  points: Map<string, LinePoint>;
  polls: PollGroup[];
  streams: LinePoint[];
  errorPattern: RegExp | undefined;
  failures: number;
  polling: boolean;
  lastLine: number;
  timer: NodeJS.Timeout | undefined;
}

export interface LineDriverOptions {
  /** Every device here names this port with the same settings (checked by the config loader). */
  devices: LineDeviceConfig[];
  ctx: DriverContext;
  /** Interval of rate-limited warnings (ms). */
  warnIntervalMs?: number;
  /** Jitter source of the reopen backoff (tests). */
  random?: () => number;
}

export class LineDriver implements Driver {
  readonly id: string;
  private readonly devs = new Map<string, LineDevice>();
  private readonly link: LineLink;
  private readonly throttle: LogThrottle;
  private lastProgress: number | null = null;
  private readonly counters = {
    requests: 0,
    answers: 0,
    timeouts: 0,
    late_answers: 0,
    device_errors: 0,
    stream_lines: 0,
    unmatched_lines: 0,
    overlong_lines: 0,
    incomplete_lines: 0,
    bad_values: 0,
    writes: 0,
  };

  constructor(private readonly options: LineDriverOptions) {
    const first = options.devices[0];
    if (first === undefined) throw new Error('a line driver needs at least one device');
    const settings = first.port;
    this.id = `line:${settings.path}`;
    this.throttle = new LogThrottle({ log: options.ctx.log, intervalMs: options.warnIntervalMs ?? 10_000 });
    for (const cfg of options.devices) this.devs.set(cfg.id, compileDevice(cfg, this.id));
    this.link = new LineLink({
      settings,
      log: options.ctx.log,
      onLine: (line) => this.onLine(line),
      onDiscard: (kind, head) => this.onDiscard(kind, head),
      onUp: () => this.onOpen(),
      onDown: (reason) => this.onClose(reason),
      // A lost port is retried on a timer: each attempt shows the driver is alive, so a device
      // unplugged for a while does not make the watchdog restart the whole gateway.
      onAttempt: () => (this.lastProgress = Date.now()),
      onLate: (line, req) => {
        this.counters.late_answers++;
        this.options.ctx.log.debug({ device: req.deviceId, request: req.line, line: line.slice(0, 80) }, 'late answer dropped');
      },
      onTimeout: () => {
        this.counters.timeouts++;
        this.lastProgress = Date.now(); // a timed-out attempt is a completed transaction
      },
      ...(options.random === undefined ? {} : { random: options.random }),
    });
  }

  devices(): DeviceDescriptor[] {
    return [...this.devs.values()].map((d) => d.desc);
  }

  /** The serial port this driver holds. */
  get path(): string {
    return this.options.devices[0]!.port.path;
  }

  get linkUp(): boolean {
    return this.link.isOpen;
  }

  /** A technician's raw send (`mgw line send` through the gateway): see LineLink.send. */
  send(payload: Buffer, lines: number, timeoutMs: number): Promise<string[]> {
    return this.link.send(payload, lines, timeoutMs);
  }

  async start(): Promise<void> {
    // The port opens in the background: a device that is unplugged must not hold up the gateway.
    void this.link.start();
    for (const dev of this.devs.values()) {
      dev.timer = setInterval(() => this.tick(dev), dev.cfg.poll_interval_ms);
    }
  }

  async stop(): Promise<void> {
    for (const dev of this.devs.values()) clearInterval(dev.timer);
    await this.link.stop();
  }

  health(): DriverHealth {
    return { lastProgress: this.lastProgress, counters: { ...this.counters, reopens: this.link.reopens, link_up: this.link.isOpen ? 1 : 0, partial_line_bytes: this.link.partialBytes } };
  }

  async write(deviceId: string, values: Record<string, PointValue>, signal: AbortSignal): Promise<Record<string, PointValue>> {
    const dev = this.devs.get(deviceId);
    if (dev === undefined) throw new GatewayError('device_not_found', `Device ${deviceId} not found`);
    if (!this.link.isOpen) throw new GatewayError('device_offline', `${deviceId}: port ${dev.cfg.port.path} is not open; the write was not attempted`);
    const confirmed: Record<string, PointValue> = {};
    for (const [name, value] of Object.entries(values)) {
      const point = dev.points.get(name);
      if (point?.cfg.write === undefined) throw new GatewayError('validation_error', `${deviceId}.${name}: point is read-only`);
      confirmed[name] = await this.writePoint(dev, point, value, signal);
    }
    this.counters.writes++;
    this.lastProgress = Date.now();
    return confirmed;
  }

  private async writePoint(dev: LineDevice, point: LinePoint, value: PointValue, signal: AbortSignal): Promise<PointValue> {
    const line = point.cfg.write!.replaceAll('{value}', formatValue(point.cfg, value));
    const ack = point.ack;
    const answer = await this.link.request({
      line,
      classify: ack === undefined ? undefined : (l) => classify(l, dev.errorPattern, (x) => ack.test(x)),
      priority: 'write',
      deviceId: dev.cfg.id,
      signal,
    });
    if (answer !== null && ack !== undefined && point.ackGroup !== undefined) {
      const raw = captured(ack.exec(answer)!, point.ackGroup);
      if (raw !== undefined) return this.convert(dev, point, raw, answer);
    }
    if (point.cfg.readback && point.cfg.command !== undefined && point.pattern !== undefined) {
      const pattern = point.pattern;
      const readBack = await this.link.request({
        line: point.cfg.command,
        classify: (l) => classify(l, dev.errorPattern, (x) => pattern.test(x)),
        priority: 'write',
        deviceId: dev.cfg.id,
        signal,
      });
      const raw = captured(pattern.exec(readBack!)!, point.group);
      if (raw !== undefined) return this.convert(dev, point, raw, readBack!);
      throw new GatewayError('device_error', `${dev.cfg.id}.${point.name}: the read-back "${readBack}" holds no value`);
    }
    // Neither the acknowledgement nor a read-back carries the value: the device took what was sent.
    return value;
  }

  private convert(dev: LineDevice, point: LinePoint, raw: string, line: string): PointValue {
    try {
      return parseValue(point.cfg, raw);
    } catch (err) {
      throw new GatewayError('device_error', `${dev.cfg.id}.${point.name}: cannot read "${line}": ${(err as Error).message}`);
    }
  }

  private tick(dev: LineDevice): void {
    if (!this.link.isOpen) return;
    if (dev.polls.length > 0) {
      void this.poll(dev);
      return;
    }
    // A device that only streams may stay quiet for long (a barcode reader between scans):
    // checking it is this driver's work, so it counts as progress.
    this.lastProgress = Date.now();
    const silence = dev.cfg.stream_timeout_ms;
    if (silence !== undefined && dev.lastLine !== 0 && Date.now() - dev.lastLine > silence) {
      dev.lastLine = 0;
      this.options.ctx.sink.setOnline(dev.cfg.id, false, `no line for ${silence} ms`);
    }
  }

  private async poll(dev: LineDevice): Promise<void> {
    // A slow device must not pile up requests: skip the tick while the last poll runs.
    if (dev.polling) return;
    dev.polling = true;
    let current: PollGroup | undefined;
    try {
      for (const group of dev.polls) {
        current = group;
        this.counters.requests++;
        const answer = await this.link.request({
          line: group.command,
          classify: (l) => classify(l, dev.errorPattern, (x) => group.points.some((p) => p.pattern!.test(x))),
          priority: 'poll',
          deviceId: dev.cfg.id,
        });
        this.counters.answers++;
        dev.failures = 0;
        this.lastProgress = Date.now();
        const quality: Record<string, Quality> = {};
        this.options.ctx.sink.report(dev.cfg.id, this.extract(dev, group.points, answer!, quality), 'poll', quality);
      }
    } catch (err) {
      this.pollFailed(dev, err, current);
    } finally {
      dev.polling = false;
    }
  }

  private pollFailed(dev: LineDevice, err: unknown, group: PollGroup | undefined): void {
    const e = err instanceof GatewayError ? err : new GatewayError('internal_error', String(err));
    // The points this request should have refreshed: refused (bad) or unanswered (stale).
    if (group !== undefined && (e.code === 'device_error' || e.code === 'device_timeout')) {
      const q: Quality = e.code === 'device_error' ? 'bad' : 'stale';
      this.options.ctx.sink.report(dev.cfg.id, {}, 'poll', Object.fromEntries(group.points.map((p) => [p.name, q])));
    }
    if (e.code === 'device_error') {
      this.counters.device_errors++;
      this.throttle.warn(`device_error:${dev.cfg.id}`, { device: dev.cfg.id, reason: e.message }, 'device refused a poll');
      return;
    }
    if (e.code !== 'device_timeout') return; // port lost: onClose already marked the devices offline
    dev.failures++;
    this.options.ctx.log.debug({ device: dev.cfg.id, failures: dev.failures, reason: e.message }, 'poll timed out');
    if (dev.failures === dev.cfg.offline_after) this.options.ctx.sink.setOnline(dev.cfg.id, false, e.message);
  }

  /** Values of `points` found in `line`; a value that does not convert is marked bad in `quality`. */
  private extract(dev: LineDevice, points: LinePoint[], line: string, quality?: Record<string, Quality>): Record<string, PointValue> {
    const values: Record<string, PointValue> = {};
    for (const p of points) {
      const m = p.pattern?.exec(line);
      if (!m) continue;
      const raw = captured(m, p.group);
      if (raw === undefined) continue;
      try {
        values[p.name] = parseValue(p.cfg, raw);
      } catch (err) {
        this.counters.bad_values++;
        if (quality !== undefined) quality[p.name] = 'bad';
        this.throttle.warn(`bad_value:${dev.cfg.id}.${p.name}`, { device: dev.cfg.id, point: p.name, line: line.slice(0, 80), reason: (err as Error).message }, 'value does not convert');
      }
    }
    return values;
  }

  private onLine(line: string): void {
    let matched = false;
    for (const dev of this.devs.values()) {
      if (dev.streams.length === 0) continue;
      const hits = dev.streams.filter((p) => p.pattern!.test(line));
      if (hits.length === 0) continue;
      matched = true;
      dev.lastLine = Date.now();
      this.counters.stream_lines++;
      this.lastProgress = dev.lastLine;
      const quality: Record<string, Quality> = {};
      this.options.ctx.sink.report(dev.cfg.id, this.extract(dev, hits, line, quality), 'stream', quality);
    }
    if (!matched) {
      this.counters.unmatched_lines++;
      this.throttle.warn('unmatched', { path: this.options.devices[0]!.port.path, line: line.slice(0, 80), count: this.counters.unmatched_lines }, 'line matches no point');
    }
  }

  private onDiscard(kind: DiscardKind, head: string): void {
    this.counters[kind === 'overlong' ? 'overlong_lines' : 'incomplete_lines']++;
    const path = this.options.devices[0]!.port.path;
    const max = this.options.devices[0]!.port.max_line_length;
    this.throttle.warn(
      kind,
      { path, head, count: this.counters[kind === 'overlong' ? 'overlong_lines' : 'incomplete_lines'] },
      kind === 'overlong' ? `line longer than ${max} bytes discarded` : 'incomplete line discarded when the port closed',
    );
  }

  private onOpen(): void {
    for (const dev of this.devs.values()) {
      dev.failures = 0;
      if (dev.polls.length > 0) void this.poll(dev);
    }
  }

  private onClose(reason: string): void {
    for (const dev of this.devs.values()) {
      dev.lastLine = 0;
      this.options.ctx.sink.setOnline(dev.cfg.id, false, reason);
    }
  }
}

function classify(line: string, errorPattern: RegExp | undefined, isAnswer: (line: string) => boolean): Verdict {
  if (isAnswer(line)) return 'answer';
  if (errorPattern?.test(line)) return 'error';
  return 'other';
}

function compileDevice(cfg: LineDeviceConfig, driverId: string): LineDevice {
  const points = new Map<string, LinePoint>();
  const polls = new Map<string, PollGroup>();
  const streams: LinePoint[] = [];
  const meta: DeviceDescriptor['points'] = {};
  for (const [name, p] of Object.entries(cfg.points)) {
    const ack = p.ack === undefined ? undefined : new RegExp(p.ack);
    const point: LinePoint = {
      name,
      cfg: p,
      pattern: p.pattern === undefined ? undefined : new RegExp(p.pattern),
      group: p.pattern === undefined ? 1 : groupOf(name, p.pattern, p.group),
      ack,
      ackGroup: ack === undefined ? undefined : p.ack!.includes(`(?<${name}>`) ? name : groupCount(ack) > 0 ? 1 : undefined,
    };
    points.set(name, point);
    meta[name] = pointMeta(p);
    if (point.pattern === undefined) continue;
    if (p.command === undefined) streams.push(point);
    else {
      const group = polls.get(p.command) ?? { command: p.command, points: [] };
      group.points.push(point);
      polls.set(p.command, group);
    }
  }
  return {
    cfg,
    desc: { id: cfg.id, name: cfg.name ?? cfg.id, device_type: cfg.type ?? 'line', driver: driverId, points: meta, ...placement(cfg) },
    points,
    polls: [...polls.values()],
    streams,
    errorPattern: cfg.error_pattern === undefined ? undefined : new RegExp(cfg.error_pattern),
    failures: 0,
    polling: false,
    lastLine: 0,
    timer: undefined,
  };
}
