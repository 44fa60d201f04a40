/**
 * Modbus polling benchmark (not a test): the gateway's Modbus driver (bus scheduler, ReadPlanner,
 * codec, Registry) against a raw modbus-serial loop (connectTCP, awaited readHoldingRegisters),
 * both polling 10 holding registers from the same pymodbus TCP peer on loopback, one request in
 * flight each. Runs alternate A B A B and the medians are reported with their ranges. Also:
 * requests per poll cycle with and without the ReadPlanner for the built-in profiles.
 *
 *   npx tsx test/bench/modbus.ts [--window-ms 3000] [--runs 3]
 *
 * The peer is a Python asyncio server: when its CPU time per request approaches the window,
 * it is the limit for both clients, and the client CPU per poll is the figure that compares.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import * as v from 'valibot';
import ModbusSerial from 'modbus-serial';
import { Registry } from '../../src/core/registry.js';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { ModbusPointSchema, type ModbusDeviceConfig, type ModbusPointInput } from '../../drivers/modbus/config.js';
import { BusSchema } from '../../drivers/bus/config.js';
import { ReadPlanner } from '../../drivers/modbus/planner.js';
import { resolvePoint } from '../../drivers/modbus/codec.js';
import { PROFILES } from '../../drivers/profiles/index.js';
import { startPyModbus, type PyModbusPeer } from '../peers/modbus.js';
import { TYPE_POINTS } from '../integration/modbus-fixtures.js';
import { cpuSeconds } from './lib/proc.js';
import { summary } from './lib/stats.js';

const ModbusRTU = ModbusSerial.default;

export interface PollRun {
  polls: number;
  pollsPerS: number;
  clientCpuUsPerPoll: number;
  peerCpuUsPerPoll: number;
}

export interface ModbusBenchResult {
  windowMs: number;
  runs: number;
  units: number;
  gateway: ReturnType<typeof summary> & { cpuUsPerPoll: number; peerCpuUsPerPoll: number };
  raw: ReturnType<typeof summary> & { cpuUsPerPoll: number; peerCpuUsPerPoll: number };
  ratio: number;
  planner: { map: string; points: number; withoutPlanner: number; withPlanner: number }[];
}

const TEN_REGISTERS: Record<string, ModbusPointInput> = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [`r${i}`, { table: 'holding', address: i, type: 'uint16' }]),
);

/** The gateway's driver, units polling every 10 ms (its fastest), for one window. */
async function runGateway(peer: PyModbusPeer, units: number, windowMs: number): Promise<PollRun> {
  const registry = new Registry({ replaySize: 100 });
  const bus = v.parse(BusSchema, { id: 'bench', kind: 'tcp', host: '127.0.0.1', port: peer.port, timeout_ms: 1000, retries: 0 });
  const devices: ModbusDeviceConfig[] = Array.from({ length: units }, (_, i) => ({
    id: `u${i + 1}`,
    driver: 'modbus',
    bus: 'bench',
    unit: i + 1,
    poll_interval_ms: 10,
    points: Object.fromEntries(Object.entries(TEN_REGISTERS).map(([k, p]) => [k, v.parse(ModbusPointSchema, p)])),
  }));
  const driver = new ModbusDriver({
    bus,
    devices,
    ctx: {
      log: pino({ level: 'silent' }),
      sink: {
        report: (id, values, action) => void registry.apply(id, values, action),
        setOnline: (id, online) => void registry.setOnline(id, online),
      },
    },
  });
  for (const d of driver.devices()) registry.add(d);
  await driver.start();
  // Warm up (connection, JIT) before the window.
  await new Promise((r) => setTimeout(r, 300));
  const polls0 = driver.health().counters!['polls']!;
  const cpu0 = process.cpuUsage();
  const peer0 = cpuSeconds(peer.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const polls = driver.health().counters!['polls']! - polls0;
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peerCpu = cpuSeconds(peer.pid) - peer0;
  await driver.stop();
  return {
    polls,
    pollsPerS: (polls * 1000) / elapsed,
    clientCpuUsPerPoll: (cpu.user + cpu.system) / polls,
    peerCpuUsPerPoll: (peerCpu * 1e6) / polls,
  };
}

/** A raw modbus-serial loop, one awaited request after the other, cycling through the units. */
async function runRaw(peer: PyModbusPeer, units: number, windowMs: number): Promise<PollRun> {
  const client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port: peer.port });
  client.setTimeout(1000);
  let stop = false;
  let polls = 0;
  let unit = 0;
  const loop = (async () => {
    while (!stop) {
      client.setID((unit++ % units) + 1);
      await client.readHoldingRegisters(0, 10);
      polls++;
    }
  })();
  await new Promise((r) => setTimeout(r, 300));
  const polls0 = polls;
  const cpu0 = process.cpuUsage();
  const peer0 = cpuSeconds(peer.pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, windowMs));
  const n = polls - polls0;
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const peerCpu = cpuSeconds(peer.pid) - peer0;
  stop = true;
  await loop;
  await new Promise<void>((r) => client.close(() => r()));
  return { polls: n, pollsPerS: (n * 1000) / elapsed, clientCpuUsPerPoll: (cpu.user + cpu.system) / n, peerCpuUsPerPoll: (peerCpu * 1e6) / n };
}

/** Requests per poll cycle: one per point without the planner, the planner's blocks with it. */
export function plannerTable(maxGap = 8): ModbusBenchResult['planner'] {
  const maps: Record<string, Record<string, ModbusPointInput>> = {
    'vfd profile': PROFILES.vfd.points,
    'xy-md02 profile': PROFILES['xy-md02'].points,
    'sdm120 profile': PROFILES.sdm120.points,
    'test map (every type)': TYPE_POINTS as unknown as Record<string, ModbusPointInput>,
    '10 adjacent registers': TEN_REGISTERS,
  };
  return Object.entries(maps).map(([map, points]) => {
    const resolved = Object.entries(points).map(([name, p]) => resolvePoint(name, v.parse(ModbusPointSchema, p)));
    const plan = new ReadPlanner({ points: resolved.map((p) => ({ name: p.name, table: p.table, address: p.address, count: p.count })), maxGap }).plan();
    return { map, points: resolved.length, withoutPlanner: resolved.length, withPlanner: plan.length };
  });
}

export async function runModbusBench(options: { windowMs?: number; runs?: number; units?: number } = {}): Promise<ModbusBenchResult> {
  const windowMs = options.windowMs ?? 3000;
  const runs = options.runs ?? 3;
  const units = options.units ?? 50;
  const peer = await startPyModbus('tcp', 0, { units: Array.from({ length: units }, (_, i) => i + 1) });
  try {
    const g: PollRun[] = [];
    const r: PollRun[] = [];
    for (let i = 0; i < runs; i++) {
      g.push(await runGateway(peer, units, windowMs));
      r.push(await runRaw(peer, units, windowMs));
    }
    const gs = summary(g.map((x) => x.pollsPerS));
    const rs = summary(r.map((x) => x.pollsPerS));
    return {
      windowMs,
      runs,
      units,
      gateway: { ...gs, cpuUsPerPoll: summary(g.map((x) => x.clientCpuUsPerPoll)).median, peerCpuUsPerPoll: summary(g.map((x) => x.peerCpuUsPerPoll)).median },
      raw: { ...rs, cpuUsPerPoll: summary(r.map((x) => x.clientCpuUsPerPoll)).median, peerCpuUsPerPoll: summary(r.map((x) => x.peerCpuUsPerPoll)).median },
      ratio: gs.median / rs.median,
      planner: plannerTable(),
    };
  } finally {
    await peer.stop();
  }
}

export function formatModbusBench(res: ModbusBenchResult): string {
  const row = (label: string, s: ModbusBenchResult['gateway']) =>
    `| ${label} | ${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)}) | ${s.cpuUsPerPoll.toFixed(0)} | ${s.peerCpuUsPerPoll.toFixed(0)} |`;
  return [
    `Modbus TCP polling, pymodbus peer on loopback, 10 holding registers per poll, ${res.units} units, one request in flight, ${res.runs} x ${res.windowMs} ms windows (A B A B), medians (range):`,
    '',
    '| client | polls/s | client CPU µs/poll | peer CPU µs/poll |',
    '|---|---|---|---|',
    row('gateway Modbus driver (scheduler + planner + codec + registry)', res.gateway),
    row('raw modbus-serial loop (awaited readHoldingRegisters)', res.raw),
    '',
    `gateway / raw polls/s: ${res.ratio.toFixed(2)}`,
    '',
    '| point map | points | requests/cycle without planner | with planner (max_gap 8) |',
    '|---|---|---|---|',
    ...res.planner.map((p) => `| ${p.map} | ${p.points} | ${p.withoutPlanner} | ${p.withPlanner} |`),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const res = await runModbusBench({ windowMs: arg('--window-ms'), runs: arg('--runs'), units: arg('--units') });
  console.log(formatModbusBench(res));
  process.exit(0);
}
