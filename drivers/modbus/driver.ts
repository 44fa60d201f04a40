/**
 * The Modbus driver: one instance per bus. Each unit on the bus is polled on its own interval
 * through the bus scheduler (one transaction in flight per line); values are decoded, filtered
 * by deadband and reported; units that stop answering go offline and come back by themselves.
 * Control writes go through the same scheduler at write priority and are confirmed by reading
 * the written points back.
 *
 * Every poll states the quality of every point it tried (StateSink.report): good for a point
 * read (changed or not), stale for one whose block went unanswered or was resting, bad for one
 * the unit answered with an exception, a reply that does not decode, or a value outside its
 * declared range (`range_check`). A unit that answers nothing goes offline (all its points
 * stale); a line on which no unit answers takes every unit offline at once.
 */
import { GatewayError } from '../../src/core/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../../src/core/driver.js';
import type { PointValue, Quality } from '../../src/core/points.js';
import type { DeviceDescriptor } from '../../src/core/registry.js';
import { BusScheduler, type Attempt, type Priority, type Transaction } from '../bus/scheduler.js';
import { BackoffError, BusStoppedError, BusTimeoutError, isAbsentUnitAnswer, LinkDownError, TransactionCancelledError } from '../bus/errors.js';
import { SerialTransport } from '../bus/serial.js';
import { TcpTransport } from '../bus/tcp.js';
import { TracingTransport } from '../bus/trace.js';
import type { Transport } from '../bus/transport.js';
import { ModbusClient, ModbusException } from './client.js';
import { beyondDeadband, decodeRegisters, encodeField, encodeRegisters, fieldMasks, EncodeError, isBitTable, unusableValue, type ResolvedPoint } from './codec.js';
import type { BusConfig, ModbusDeviceConfig } from './config.js';
import { buildDevice, type ModbusDevice, type PollGroup } from './device.js';
import { blockKey, ReadPlanner, type ReadBlock } from './planner.js';
import { groupWrites, type WriteGroup } from './writes.js';
import { rtuFrameGapMs } from './rtu-timing.js';
import { Commissioner } from './commission.js';

export interface ModbusDriverOptions {
  bus: BusConfig;
  devices: ModbusDeviceConfig[];
  ctx: DriverContext;
  /** Replaces the serial port or TCP connection the bus config describes (tests). */
  transport?: Transport;
}

/** RTU frames are separated by 3.5 character times (rtu-timing.ts); TCP has no such gap. */
export function interFrameGapMs(bus: BusConfig): number {
  return bus.kind === 'rtu' ? rtuFrameGapMs(bus) : 0;
}

/**
 * Silence after a timeout. RTU replies carry no transaction id, so a reply to an abandoned
 * request looks like the answer to the next one if it arrives after that was sent. Waiting a
 * full timeout (as libmodbus does before it flushes) drops any reply up to twice the timeout;
 * so does RTU over TCP (the serial server passes the frames through). TCP replies carry an id:
 * no wait.
 */
export function quietMs(bus: BusConfig): number {
  return bus.quiet_ms ?? (bus.kind === 'tcp' ? 0 : bus.timeout_ms + interFrameGapMs(bus));
}

/**
 * A block a unit never answers costs the line timeout + quiet per attempt; resting it at least
 * 20 times that long keeps it to about 5 % of the line (the other units' share).
 */
const BLOCK_REST_FACTOR = 20;

/** What one poll of a unit found, point by point. */
interface PollResult {
  values: Record<string, PointValue>;
  quality: Record<string, Quality>;
  /** The unit answered at least one block (with data or an exception). */
  answered: boolean;
  /** Blocks that went unanswered (timeout, or a gateway's "unit absent"), with the last reason. */
  silent: ReadBlock[];
  silentReason: string | undefined;
}

export class ModbusDriver implements Driver {
  readonly id: string;
  private readonly scheduler: BusScheduler;
  private readonly client: ModbusClient;
  private readonly units = new Map<string, ModbusDevice>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly warned = new Set<string>();
  private running = false;
  private polls = 0;
  private exceptions = 0;
  /** A technician's raw requests on this bus, between the polls (`mgw modbus` while the daemon runs). */
  readonly commissioner: Commissioner;

  constructor(private readonly options: ModbusDriverOptions) {
    const { bus, ctx } = options;
    this.id = `modbus:${bus.id}`;
    const line =
      options.transport ??
      (bus.kind === 'rtu' || bus.kind === 'ascii'
        ? new SerialTransport({ path: bus.port, baud: bus.baud, parity: bus.parity, dataBits: bus.data_bits, stopBits: bus.stop_bits })
        : new TcpTransport({ host: bus.host, port: bus.port, connectTimeoutMs: Math.max(1000, bus.timeout_ms) }));
    // At log level trace every frame on the line is logged, hex, both directions, with timing.
    const transport = ctx.log.isLevelEnabled('trace')
      ? new TracingTransport(line, (e) => ctx.log.trace({ bus: bus.id, dir: e.dir, ms: e.ms, hex: e.hex }, 'modbus frame'))
      : line;
    const gapMs = interFrameGapMs(bus);
    // RTU over TCP: RTU frames (unit, CRC, no transaction id) on a TCP connection.
    this.client = new ModbusClient({ transport, kind: bus.kind === 'tcp' ? 'tcp' : bus.kind === 'ascii' ? 'ascii' : 'rtu' });
    this.scheduler = new BusScheduler({
      id: bus.id,
      transport,
      timeoutMs: bus.timeout_ms,
      retries: bus.retries,
      quietMs: quietMs(bus),
      gapMs,
      backoffMaxMs: bus.backoff_max_ms,
      // TCP (also RTU over TCP): a peer that rebooted behind a NAT or gateway can leave our connection open but dead.
      reconnectAfterTimeouts: bus.kind === 'rtu' || bus.kind === 'ascii' ? 0 : Math.max(3, 2 * options.devices.length),
      reconnectMinMs: 100,
      reconnectMaxMs: bus.reconnect_max_ms,
      log: ctx.log,
    });
    const build = { maxGap: bus.max_gap, blockRestFloorMs: BLOCK_REST_FACTOR * (bus.timeout_ms + quietMs(bus)), backoffMaxMs: bus.backoff_max_ms };
    for (const cfg of options.devices) this.units.set(cfg.id, buildDevice(cfg, this.id, build));
    this.commissioner = new Commissioner({
      bus,
      scheduler: this.scheduler,
      client: this.client,
      devices: options.devices.map((d) => ({ id: d.id, unit: d.unit })),
      quietFor: (timeoutMs) => quietMs({ ...bus, timeout_ms: timeoutMs }),
    });
    // A lost or silent line takes every unit on it offline at once rather than poll by poll.
    this.scheduler.on('down', (reason: string) => {
      for (const dev of this.units.values()) this.markOffline(dev, `bus lost: ${reason}`);
    });
    this.scheduler.on('silent', (reason: string) => {
      for (const dev of this.units.values()) this.markOffline(dev, reason);
    });
  }

  devices(): DeviceDescriptor[] {
    return [...this.units.values()].map((d) => d.desc);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.scheduler.start();
    for (const dev of this.units.values()) for (const group of dev.groups) this.schedulePoll(dev, group, Date.now(), 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.scheduler.stop();
  }

  health(): DriverHealth {
    const counters: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.scheduler.counters())) counters[k] = v;
    for (const [k, v] of Object.entries(this.client.framingCounters)) counters[k] = v;
    counters['polls'] = this.polls;
    counters['exceptions'] = this.exceptions;
    for (const dev of this.units.values()) {
      const prefix = `device:${dev.cfg.id}:`;
      for (const [k, v] of Object.entries(this.scheduler.deviceCounters(dev.cfg.id))) counters[prefix + k] = v;
      counters[`${prefix}polls`] = dev.polls;
      counters[`${prefix}failed_polls`] = dev.failedPolls;
      counters[`${prefix}exceptions`] = dev.exceptions;
      counters[`${prefix}online`] = dev.online ? 1 : 0;
      counters[`${prefix}resting_blocks`] = dev.blockRests.size;
    }
    return { lastProgress: this.scheduler.progressAt(), counters };
  }

  /**
   * Polls run on a fixed cadence: a poll delayed by a busy line runs as soon as it can and the
   * next one keeps the original schedule, so a short stall does not cost a unit its poll rate;
   * after a longer stall the schedule restarts from now instead of bursting.
   */
  private schedulePoll(dev: ModbusDevice, group: PollGroup, due: number, delay: number): void {
    if (!this.running) return;
    this.timers.set(
      `${dev.cfg.id}@${group.intervalMs}`,
      setTimeout(() => {
        void this.pollDevice(dev, group).finally(() => {
          const interval = group.intervalMs;
          const now = Date.now();
          let next = due + interval;
          if (next < now - interval) next = now;
          this.schedulePoll(dev, group, next, Math.max(0, next - now));
        });
      }, delay),
    );
  }

  /** Polls one group of the unit's points (those sharing a poll interval). */
  private async pollDevice(dev: ModbusDevice, group: PollGroup): Promise<void> {
    if (this.scheduler.restRemaining(dev.cfg.id) > 0 && !dev.online) return;
    const writesBefore = dev.writesStarted;
    const result = await this.readBlocks(dev, group);
    if (result === undefined) return;
    const { values, quality, answered, silent } = result;
    if (!answered) {
      dev.failedPolls++;
      if (silent.length > 0) this.markOffline(dev, result.silentReason ?? 'no answer');
      // Blocks skipped while the unit rests, or the line is silent: their points are not current.
      else if (dev.online) this.options.ctx.sink.report(dev.cfg.id, {}, 'poll', quality);
      return;
    }
    // What was learned about its blocks while it was going away may be wrong.
    if (!dev.online) dev.blockRests.clear();
    // The unit answered: the blocks it left unanswered are its own refusal, not a dead unit.
    for (const block of silent) this.learnSilent(dev, group, block);
    dev.polls++;
    this.polls++;
    // A poll that overlapped a control write may have read the new values first; they are the
    // write's to publish (as device_control, with its read-back), so this poll's values wait.
    const writeOverlapped = dev.writesStarted !== writesBefore;
    if (dev.writing === 0 && !writeOverlapped) this.publish(dev, values, quality);
    else this.publish(dev, {}, Object.fromEntries(Object.entries(quality).filter(([, q]) => q !== 'good')));
    if (!dev.online) {
      dev.online = true;
      this.options.ctx.sink.setOnline(dev.cfg.id, true);
    }
  }

  /**
   * Reads the unit's blocks in turn. Returns undefined when the bus stopped or the line was lost
   * (the unit is marked offline then). A first silent block with no answer yet is followed by
   * one more block, without retries: a second silence means the unit is gone, an answer means
   * the first block is refused.
   */
  private async readBlocks(dev: ModbusDevice, group: PollGroup): Promise<PollResult | undefined> {
    const r: PollResult = { values: {}, quality: {}, answered: false, silent: [], silentReason: undefined };
    const mark = (block: ReadBlock, q: Quality) => {
      for (const p of block.points) r.quality[p.name] = q;
    };
    const blocks = group.planner.plan();
    for (let i = 0; i < blocks.length; i++) {
      const block = blocks[i]!;
      const key = blockKey(block);
      if (dev.online && dev.blockRests.remaining(key) > 0) {
        mark(block, 'stale');
        continue;
      }
      const refusedBefore = dev.online && dev.blockRests.failures(key) > 0;
      const retry = dev.online && r.silent.length === 0 && !refusedBefore;
      try {
        const data = await this.readBlock(dev, block, 'poll', undefined, { retry, rest: !dev.online && !r.answered, mayStaySilent: refusedBefore });
        r.answered = true;
        dev.blockRests.answered(key);
        this.decodeInto(dev, block, data, r);
      } catch (err) {
        if (err instanceof BusStoppedError) return undefined;
        if (err instanceof LinkDownError) {
          dev.failedPolls++;
          this.markOffline(dev, err.message);
          return undefined;
        }
        if (err instanceof BusTimeoutError || isAbsentUnitAnswer(err)) {
          mark(block, 'stale');
          r.silent.push(block);
          r.silentReason = (err as Error).message;
          // An offline unit is probed with one block; an online one gets one more chance.
          if (!dev.online || (!r.answered && r.silent.length >= 2)) {
            for (const rest of blocks.slice(i + 1)) mark(rest, 'stale');
            break;
          }
          continue;
        }
        if (err instanceof BackoffError) {
          for (const rest of blocks.slice(i)) mark(rest, 'stale');
          break;
        }
        r.answered = true;
        dev.blockRests.answered(key);
        // A merged read the unit refused says nothing about its points yet: the next poll reads
        // them in smaller requests. Otherwise the unit refused these points: bad.
        if (err instanceof ModbusException) {
          if (this.onException(dev, group, block, err) !== 'split') mark(block, 'bad');
          continue;
        }
        mark(block, 'bad');
        // A garbled or mismatched reply: the unit (or line) is there but this answer is useless.
        this.warnOnce(`${dev.cfg.id}:reply`, { device: dev.cfg.id, err: (err as Error).message }, 'unusable reply');
      }
    }
    return r;
  }

  private decodeInto(dev: ModbusDevice, block: ReadBlock, data: number[] | boolean[], r: PollResult): void {
    for (const [name, value] of Object.entries(this.decodeBlock(dev, block, data))) {
      const why = unusableValue(dev.points.get(name)!, value);
      if (why === undefined) {
        r.values[name] = value;
        continue;
      }
      r.quality[name] = 'bad';
      this.warnOnce(`${dev.cfg.id}:${name}:value`, { device: dev.cfg.id, point: name, value: String(value), err: why }, 'value not usable; point marked bad');
    }
  }

  /** A block stayed silent while its unit answered others: split it, or rest it. */
  private learnSilent(dev: ModbusDevice, group: PollGroup, block: ReadBlock): void {
    const { log } = this.options.ctx;
    const fields = { device: dev.cfg.id, table: block.table, address: block.address, count: block.count };
    if (group.planner.learnRefused(block) === 'split') {
      log.info(fields, 'unit leaves a merged read unanswered while it answers others; splitting it');
      return;
    }
    const restMs = dev.blockRests.failed(blockKey(block));
    const points = block.points.map((p) => p.name);
    if (dev.blockRests.failures(blockKey(block)) === 1) log.warn({ ...fields, points, rest_ms: restMs }, 'unit leaves a read unanswered while it answers others; resting it');
    else log.debug({ ...fields, points, rest_ms: restMs }, 'read still unanswered; resting it longer');
  }

  /** Publishes values beyond their deadband, and the quality of every point the poll tried. */
  private publish(dev: ModbusDevice, values: Record<string, PointValue>, quality: Record<string, Quality>): void {
    const changed: Record<string, PointValue> = {};
    for (const [name, value] of Object.entries(values)) {
      const p = dev.points.get(name)!;
      if (beyondDeadband(p, dev.published[name], value)) {
        changed[name] = value;
        dev.published[name] = value;
      } else {
        quality[name] = 'good';
      }
    }
    if (Object.keys(changed).length > 0 || Object.keys(quality).length > 0) this.options.ctx.sink.report(dev.cfg.id, changed, 'poll', quality);
  }

  private markOffline(dev: ModbusDevice, reason: string): void {
    if (!dev.online) return;
    dev.online = false;
    this.options.ctx.sink.setOnline(dev.cfg.id, false, reason);
  }

  /** Learns from an exception to a read; says whether the read was split. */
  private onException(dev: ModbusDevice, group: PollGroup, block: ReadBlock, err: ModbusException): 'split' | 'kept' {
    dev.exceptions++;
    this.exceptions++;
    if ((err.exceptionCode === 3 || err.exceptionCode === 4) && group.planner.learnRefused(block) === 'split') {
      this.options.ctx.log.info(
        { device: dev.cfg.id, code: err.exceptionCode, table: block.table, address: block.address, count: block.count },
        'unit refused a merged read; splitting it',
      );
      return 'split';
    }
    if (err.exceptionCode === 2) {
      const learned = group.planner.learnIllegalAddress(block);
      const { log } = this.options.ctx;
      if (learned.outcome === 'split') {
        log.info({ device: dev.cfg.id, table: block.table, address: block.address, count: block.count }, 'unit refused a merged read (exception 02); splitting it');
      } else {
        log.warn({ device: dev.cfg.id, points: learned.points, table: block.table, address: block.address }, 'unit has no such address (exception 02); point no longer polled');
      }
      return learned.outcome === 'split' ? 'split' : 'kept';
    }
    this.warnOnce(`${dev.cfg.id}:${block.table}:${block.address}:${err.exceptionCode}`, { device: dev.cfg.id, code: err.exceptionCode, err: err.message }, 'read answered with an exception');
    return 'kept';
  }

  private warnOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    const { log } = this.options.ctx;
    if (this.warned.has(key)) log.debug(fields, msg);
    else {
      this.warned.add(key);
      log.warn(fields, msg);
    }
  }

  /**
   * `poll.retry`: retries are for a unit that answers but missed one; probing a unit that is
   * offline, or a block that failed last time, once per rest is enough and keeps its cost to the
   * healthy units on the line low. `poll.rest`: the unit's rest applies (an offline unit's probe);
   * an online unit's blocks rest one by one (BlockRests) instead. `poll.mayStaySilent`: the block
   * went unanswered before, so its silence now says nothing about the line.
   */
  private readBlock(
    dev: ModbusDevice,
    block: ReadBlock,
    priority: Priority,
    cancel?: AbortSignal,
    poll?: { retry: boolean; rest: boolean; mayStaySilent: boolean },
  ): Promise<number[] | boolean[]> {
    const unit = dev.cfg.unit;
    const label = `read ${block.table} ${block.address}+${block.count}`;
    return this.scheduler.submit<number[] | boolean[]>({
      device: dev.cfg.id,
      priority,
      label,
      ...(cancel === undefined ? {} : { cancel }),
      backoffBaseMs: dev.cfg.poll_interval_ms,
      ...this.timing(dev),
      ...(poll === undefined ? {} : { rest: poll.rest, mayStaySilent: poll.mayStaySilent, ...(poll.retry ? {} : { retries: 0 }) }),
      run: (signal) => {
        switch (block.table) {
          case 'coil':
            return this.client.readBits(unit, 1, block.address, block.count, signal);
          case 'discrete':
            return this.client.readBits(unit, 2, block.address, block.count, signal);
          case 'holding':
            return this.client.readRegisters(unit, 3, block.address, block.count, signal);
          case 'input':
            return this.client.readRegisters(unit, 4, block.address, block.count, signal);
        }
      },
    });
  }

  /** The unit's own timeout and request delay, where it overrides the bus's. */
  private timing(dev: ModbusDevice): Pick<Transaction<unknown>, 'timeoutMs' | 'quietMs' | 'delayMs'> {
    const { bus } = this.options;
    const out: Pick<Transaction<unknown>, 'timeoutMs' | 'quietMs' | 'delayMs'> = {};
    const timeout = dev.cfg.timeout_ms;
    if (timeout !== undefined) {
      out.timeoutMs = timeout;
      // A late reply of a slow RTU unit can come as late as its own timeout.
      out.quietMs = quietMs({ ...bus, timeout_ms: timeout });
    }
    const delay = dev.cfg.request_delay_ms ?? bus.request_delay_ms;
    if (delay > 0) out.delayMs = delay;
    return out;
  }

  private decodeBlock(dev: ModbusDevice, block: ReadBlock, data: number[] | boolean[]): Record<string, PointValue> {
    const out: Record<string, PointValue> = {};
    for (const pp of block.points) {
      const p = dev.points.get(pp.name)!;
      const at = p.address - block.address;
      out[p.name] = isBitTable(p.table) ? Boolean((data as boolean[])[at]) : decodeRegisters(p, data as number[], at);
    }
    return out;
  }

  async write(deviceId: string, values: Record<string, PointValue>, signal: AbortSignal): Promise<Record<string, PointValue>> {
    const dev = this.units.get(deviceId);
    if (dev === undefined) throw new GatewayError('device_not_found', `Device ${deviceId} not found`);
    const written: ResolvedPoint[] = [];
    dev.writing++;
    dev.writesStarted++;
    try {
      const items = Object.entries(values).map(([name, value]) => ({ point: dev.points.get(name)!, value }));
      // Refuse a value that does not fit before anything is written, not halfway through.
      for (const { point, value } of items) {
        if (point.table !== 'holding') continue;
        if (point.field !== undefined) fieldMasks(point, value);
        else encodeRegisters(point, value);
      }
      for (const group of groupWrites(items)) {
        if (signal.aborted) throw new GatewayError('device_timeout', `${deviceId}: the write was abandoned (control timeout)`);
        await this.writeGroup(dev, group, signal);
        for (const item of group.items) written.push(item.point);
      }
      // Read-back: what the unit now holds is the confirmation, not what we sent.
      const planner = new ReadPlanner({
        points: written.map((p) => ({ name: p.name, table: p.table, address: p.address, count: p.count })),
        maxGap: this.options.bus.max_gap,
        ...(dev.cfg.max_read_registers === undefined ? {} : { maxRegisters: dev.cfg.max_read_registers }),
        ...(dev.cfg.max_read_bits === undefined ? {} : { maxBits: dev.cfg.max_read_bits }),
      });
      const confirmed: Record<string, PointValue> = {};
      for (const block of planner.plan()) {
        if (signal.aborted) throw new GatewayError('device_timeout', `${deviceId}: the read-back was abandoned (control timeout)`);
        Object.assign(confirmed, this.decodeBlock(dev, block, await this.readBlock(dev, block, 'write', signal)));
      }
      Object.assign(dev.published, confirmed);
      return confirmed;
    } catch (err) {
      throw this.writeError(dev, err, written.map((p) => p.name));
    } finally {
      dev.writing--;
    }
  }

  private async writeGroup(dev: ModbusDevice, group: WriteGroup, cancel: AbortSignal): Promise<void> {
    const unit = dev.cfg.unit;
    const submit = (label: string, run: (attempt: Attempt) => Promise<unknown>) =>
      this.scheduler.submit({ device: dev.cfg.id, priority: 'write', label, run, cancel, ...this.timing(dev) });
    // The single-item functions only when every point of the group allows them.
    const single = group.items.every((i) => i.point.writeFunction === 6);
    if (group.kind === 'field') {
      const { point: p, value } = group.items[0];
      if (p.bitWrite === 'mask' && !dev.noMaskWrite) {
        const { and, or } = fieldMasks(p, value);
        try {
          await submit(`mask write holding ${p.address}`, (s) => this.client.maskWriteRegister(unit, p.address, and, or, s));
          return;
        } catch (err) {
          if (!(err instanceof ModbusException) || err.exceptionCode !== 1) throw err;
          // Not every unit has FC22 (it came late to the protocol): remember and fall back.
          dev.noMaskWrite = true;
          this.options.ctx.log.warn({ device: dev.cfg.id, point: p.name }, 'unit refuses FC22 mask write (exception 01); writing its bits by read-modify-write');
        }
      }
      // Read, change the bit, write back: not atomic, the unit may change other bits meanwhile.
      const [current] = (await submit(`read holding ${p.address}+1`, (s) => this.client.readRegisters(unit, 3, p.address, 1, s))) as number[];
      const next = encodeField(p, current!, value);
      if (single) await submit(`write holding ${p.address}`, (s) => this.client.writeRegister(unit, p.address, next, s));
      else await submit(`write holding ${p.address}+1`, (s) => this.client.writeRegisters(unit, p.address, [next], s));
      return;
    }
    if (group.kind === 'coils') {
      const bits = group.items.map((i) => i.value === true);
      if (bits.length === 1 && single) await submit(`write coil ${group.address}`, (s) => this.client.writeCoil(unit, group.address, bits[0]!, s));
      else await submit(`write coils ${group.address}+${bits.length}`, (s) => this.client.writeCoils(unit, group.address, bits, s));
      return;
    }
    const words = group.items.flatMap((i) => encodeRegisters(i.point, i.value));
    if (words.length === 1 && single) await submit(`write holding ${group.address}`, (s) => this.client.writeRegister(unit, group.address, words[0]!, s));
    else await submit(`write holding ${group.address}+${words.length}`, (s) => this.client.writeRegisters(unit, group.address, words, s));
  }

  private writeError(dev: ModbusDevice, err: unknown, written: string[]): GatewayError {
    const id = dev.cfg.id;
    if (err instanceof GatewayError) return err;
    if (err instanceof ModbusException) {
      return new GatewayError('device_error', `${id} refused the write: Modbus exception ${err.exceptionCode}, ${err.meaning}`, {
        cause: err,
        details: { exception_code: err.exceptionCode, exception: err.meaning },
      });
    }
    if (err instanceof BusTimeoutError) return new GatewayError('device_timeout', `${id}: ${err.message}`, { cause: err });
    if (err instanceof LinkDownError || err instanceof BackoffError || err instanceof BusStoppedError) {
      return new GatewayError('device_offline', `${id}: ${err.message}; the write was not attempted`, { cause: err });
    }
    if (err instanceof TransactionCancelledError) {
      const done = written.length === 0 ? 'nothing was written' : `only ${written.join(', ')} ${written.length === 1 ? 'was' : 'were'} written`;
      return new GatewayError('device_timeout', `${id}: the write was abandoned (control timeout) while waiting for the bus; ${done}`, { cause: err });
    }
    if (err instanceof EncodeError) return new GatewayError('validation_error', `${id}.${err.message}`, { cause: err });
    return new GatewayError('device_error', `${id}: the unit sent an unusable reply: ${(err as Error).message}`, { cause: err });
  }
}
