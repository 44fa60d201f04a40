/**
 * `npm run bench [-- --quick] [-- --only fanout,http,control,footprint] [-- --reps N]`
 * `npm run bench -- --only soak [--soak-min 10]`: one gateway's memory over time, once filled.
 *
 * Runs every peer of every section in rotating order, rep after rep (A B C, B C A, ...), so
 * drift on a noisy machine hits all peers alike, then reports medians and ranges. Servers run
 * on core 0, load generators (and this runner) on core 1.
 */
import { spawnSync } from 'node:child_process';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBench } from './lib/build.js';
import { ROOT, benchNice, benchRealtime, stopAll } from './lib/spawn.js';
import { BACKPRESSURE_BYTES, FANOUT_PEERS, fanoutOnce, type FanoutPeer, type FanoutResult } from './fanout.js';
import { HTTP_PEERS, httpOnce, type HttpPeer, type HttpResult } from './http.js';
import { controlOnce, type ControlResult } from './control.js';
import { FOOTPRINT_CLIENTS, FOOTPRINT_DEVICES, FOOTPRINT_PEERS, footprintOnce, soakOnce, type FootprintPeer, type FootprintResult, type SoakResult } from './footprint.js';
import { Table, markdown, write } from './report.js';
import { runModbusBench, type ModbusBenchResult } from './modbus.js';
import { HISTORY_DEVICES, historyOnce, type HistoryResult } from './history.js';
import { alarmsOnce, type AlarmBenchResult } from './alarms.js';
import { BenchBroker, NORTHBOUND_PEERS, northboundOnce, type NorthboundMode, type NorthboundPeer, type NorthboundResult } from './northbound.js';

const SECTIONS = ['fanout', 'http', 'control', 'footprint', 'modbus', 'history', 'alarms', 'northbound', 'soak'] as const;
/** Minutes after which the soak reads the gateway's memory (the last one is its length). */
const SOAK_MARKS = [0.5, 1, 2, 5, 10, 20];
type Section = (typeof SECTIONS)[number];

function parseArgs(argv: string[]) {
  const quick = argv.includes('--quick');
  const onlyAt = argv.indexOf('--only');
  // The Modbus polling comparison needs about 20 s: in the full run, or asked for by name. The
  // soak (one gateway for --soak-min minutes, 10 by default) only when asked for by name.
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',') : SECTIONS.filter((s) => s !== 'soak' && (!quick || s !== 'modbus'));
  for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${JSON.stringify(s)}; one of ${SECTIONS.join(', ')}`);
  const repsAt = argv.indexOf('--reps');
  const reps = repsAt >= 0 ? Number(argv[repsAt + 1]) : 3;
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a whole number >= 1 (medians want 3 or more)');
  const soakAt = argv.indexOf('--soak-min');
  const soakMin = soakAt >= 0 ? Number(argv[soakAt + 1]) : 10;
  if (!(soakMin >= 0.5 && soakMin <= 60)) throw new Error('--soak-min must be a number of minutes from 0.5 to 60');
  return { quick, only: only as Section[], reps, soakMin };
}

const opts = parseArgs(process.argv.slice(2));
const P = opts.quick
  ? { fixedMs: 1000, warmupMs: 200, overloadMs: 300, latency1000: false, httpS: 1, controlN: 200, settleMs: 500, historyWarmupMs: 6000, historyWindowMs: 10_000 }
  : { fixedMs: 3000, warmupMs: 500, overloadMs: 1000, latency1000: true, httpS: 3, controlN: 1000, settleMs: 3000, historyWarmupMs: 10_000, historyWindowMs: 60_000 };
/** Northbound rates: saturation (0) and a realistic plant rate (100 devices, 4 changes/s of 5 points). */
const NORTHBOUND_RATES = [0, 2000] as const;
/** The fixed rate of the latency phase: 200 diffs/s, each to every client. */
const FIXED_RATE = 200;
/** Offered deliveries/s in the overload phase: above what any peer sustains here. */
const OVERLOAD = 300_000;

function rotate<T>(list: readonly T[], k: number): T[] {
  return list.map((_, i) => list[(i + k) % list.length]!);
}

function machine() {
  const uwsPkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/uWebSockets.js/package.json'), 'utf8')) as { version: string };
  const wsPkg = JSON.parse(readFileSync(join(ROOT, 'node_modules/ws/package.json'), 'utf8')) as { version: string };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
    uws: uwsPkg.version,
    ws: wsPkg.version,
    nice: benchNice,
    realtime: benchRealtime,
    loadavgStart: loadavg().map((x) => +x.toFixed(2)),
    freeMemGiB: +(freemem() / 2 ** 30).toFixed(1),
  };
}

async function main(): Promise<void> {
  // This process is a client too (control round trip, footprint clients): keep it off core 0.
  spawnSync('taskset', ['-p', '-c', '1', String(process.pid)]);
  const started = Date.now();
  await buildBench();
  const info = machine();
  const raw: { fanout: FanoutResult[]; http: HttpResult[]; control: ControlResult[]; footprint: FootprintResult[]; history: HistoryResult[]; alarms: AlarmBenchResult[]; northbound: NorthboundResult[]; soak?: SoakResult } = { fanout: [], http: [], control: [], footprint: [], history: [], alarms: [], northbound: [] };
  const broker = opts.only.includes('northbound') ? new BenchBroker() : undefined;
  await broker?.start();
  const log = (s: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${s}\n`);

  for (let rep = 0; rep < opts.reps; rep++) {
    if (opts.only.includes('fanout')) {
      for (const clients of [100, 1000]) {
        for (const peer of rotate<FanoutPeer>(['gateway', 'ws', 'uws'], rep)) {
          const withLatency = clients === 100 || P.latency1000;
          const r = await fanoutOnce(peer, {
            clients,
            fixedRate: FIXED_RATE,
            fixedMs: withLatency ? P.fixedMs : 0,
            warmupMs: P.warmupMs,
            overloadDeliveries: OVERLOAD,
            overloadMs: P.overloadMs,
          });
          raw.fanout.push(r);
          log(`fan-out ${peer} x${clients}: ${Math.round(r.overload.deliveriesPerS)} deliveries/s, ${r.overload.serverCpuUsPerDelivery.toFixed(2)} us/delivery` + (r.fixed ? `, p99 ${r.fixed.latencyMs.p99.toFixed(2)} ms` : ''));
        }
      }
    }
    if (opts.only.includes('http')) {
      for (const peer of rotate<HttpPeer>(['gateway', 'node'], rep)) {
        const r = await httpOnce(peer, { seconds: P.httpS, warmupS: 1, connections: 50 });
        raw.http.push(r);
        log(`http ${peer}: ${Math.round(r.requestsPerS)} req/s`);
      }
    }
    if (opts.only.includes('control')) {
      for (const target of rotate(['simulator', 'modbus'] as const, rep)) {
        const r = await controlOnce({ iterations: P.controlN, target });
        raw.control.push(r);
        log(`control ${target}: ws p50 ${r.wsP50Ms.toFixed(2)} ms p99 ${r.wsP99Ms.toFixed(2)} ms` + (r.rawP50Ms !== undefined ? `; raw modbus-serial p50 ${r.rawP50Ms.toFixed(2)} ms` : ''));
      }
    }
    if (opts.only.includes('alarms')) {
      const r = await alarmsOnce({ diffs: opts.quick ? 5000 : 20_000 });
      raw.alarms.push(r);
      log(`alarms: ${r.quietRegistryUs.toFixed(2)} -> ${r.quietAlarmsUs.toFixed(2)} us/diff quiet, ${r.floodRegistryUs.toFixed(2)} -> ${r.floodAlarmsUs.toFixed(2)} us/diff crossing`);
    }
    if (broker !== undefined) {
      for (const mode of ['sparkplug', 'json'] as NorthboundMode[]) {
        for (const rate of NORTHBOUND_RATES) {
          for (const peer of rotate<NorthboundPeer>(['gateway', 'bare'], rep)) {
            const r = await northboundOnce(broker, peer, mode, rate, opts.quick ? 1500 : 4000);
            raw.northbound.push(r);
            log(`northbound ${mode} ${peer} ${rate === 0 ? 'saturation' : `${rate}/s`}: ${Math.round(r.metricsPerS)} metrics/s, ${r.cpuUsPerMetric.toFixed(2)} us/metric, RSS ${r.rssMiB.toFixed(1)} MiB`);
          }
        }
      }
    }
    if (opts.only.includes('footprint')) {
      for (const peer of rotate<FootprintPeer>(['service', 'plain'], rep)) {
        const r = await footprintOnce(peer, { settleMs: P.settleMs });
        raw.footprint.push(r);
        log(`footprint ${peer}: ready ${r.readyMs.toFixed(0)} ms, RSS ${r.idleRssMiB.toFixed(1)} / ${r.clientsRssMiB.toFixed(1)} MiB`);
      }
    }
    if (opts.only.includes('history')) {
      for (const store of rotate([true, false], rep)) {
        const r = await historyOnce({ store, warmupMs: P.historyWarmupMs, windowMs: P.historyWindowMs });
        raw.history.push(r);
        log(`history store ${store ? 'on' : 'off'}: ${r.samplesPerS.toFixed(0)} samples/s, ${(r.cpuPerS * 100).toFixed(1)} % CPU, ${(r.writeBytesPerHour / 2 ** 20).toFixed(1)} MiB/h written, RSS ${r.rssMiB.toFixed(1)} MiB`);
      }
    }
  }

  // The Modbus polling comparison interleaves its own runs (driver, raw loop, driver, ...).
  let modbus: ModbusBenchResult | undefined;
  if (opts.only.includes('modbus')) {
    modbus = await runModbusBench({ windowMs: opts.quick ? 1000 : 3000, runs: opts.reps });
    log(`modbus polling: driver ${modbus.gateway.median.toFixed(0)} polls/s, raw ${modbus.raw.median.toFixed(0)} polls/s`);
  }

  await broker?.stop();
  if (opts.only.includes('soak')) {
    log(`soak: one gateway with ${FOOTPRINT_CLIENTS} clients for ${opts.soakMin} min`);
    raw.soak = await soakOnce(opts.soakMin, [...SOAK_MARKS.filter((m) => m < opts.soakMin), opts.soakMin]);
    for (const m of raw.soak.marks) log(`soak ${m.minutes} min: RSS ${m.rssMiB.toFixed(1)} MiB, V8 heap used ${m.heapUsedMiB.toFixed(1)} MiB`);
  }
  const table = new Table();
  if (raw.soak !== undefined) {
    const section = `Soak, built CLI with the systemd unit's Node flags, ${FOOTPRINT_DEVICES} simulated devices x 20 points polled at 1 s, ${FOOTPRINT_CLIENTS} clients, product defaults (one run)`;
    for (const m of raw.soak.marks) {
      table.add(section, 'gateway', `RSS after ${m.minutes} min`, 'MiB', [m.rssMiB]);
      table.add(section, 'gateway', `V8 heap used after ${m.minutes} min`, 'MiB', [m.heapUsedMiB]);
    }
  }
  for (const mode of ['sparkplug', 'json'] as NorthboundMode[]) {
    for (const rate of NORTHBOUND_RATES) {
      const section = `Northbound MQTT, ${mode === 'sparkplug' ? 'Sparkplug B DDATA (QoS 0)' : 'JSON diff + retained state (QoS 1)'}, 100 devices x 5 metrics, ${rate === 0 ? 'saturation' : `${rate.toLocaleString('en-US')} metrics/s offered`}, Mosquitto on core 1`;
      for (const peer of ['gateway', 'bare'] as NorthboundPeer[]) {
        const runs = raw.northbound.filter((r) => r.peer === peer && r.mode === mode && r.rate === rate);
        if (runs.length === 0) continue;
        const label = NORTHBOUND_PEERS[peer];
        table.add(section, label, 'published metrics/s', '1/s', runs.map((r) => r.metricsPerS));
        table.add(section, label, 'publisher CPU per published metric', 'µs', runs.map((r) => r.cpuUsPerMetric));
        table.add(section, label, 'publisher RSS at the end', 'MiB', runs.map((r) => r.rssMiB));
        table.add(section, label, 'messages delivered to a subscriber', '%', runs.map((r) => r.deliveredMessages * 100));
      }
    }
  }
  const notes: string[] = [];
  for (const clients of [100, 1000]) {
    const section = `Fan-out to ${clients.toLocaleString('en-US')} WebSocket clients (4 devices)`;
    for (const peer of ['gateway', 'ws', 'uws'] as FanoutPeer[]) {
      const runs = raw.fanout.filter((r) => r.peer === peer && r.clients === clients);
      if (runs.length === 0) continue;
      const label = FANOUT_PEERS[peer].label;
      table.add(section, label, `deliveries/s, ${OVERLOAD.toLocaleString('en-US')}/s offered`, '1/s', runs.map((r) => r.overload.deliveriesPerS));
      table.add(section, label, 'server CPU per delivery under overload', 'µs', runs.map((r) => r.overload.serverCpuUsPerDelivery));
      table.add(section, label, 'projected deliveries/s per core (1 / CPU per delivery)', '1/s', runs.map((r) => 1e6 / r.overload.serverCpuUsPerDelivery));
      const fixed = runs.filter((r) => r.fixed !== undefined).map((r) => r.fixed!);
      if (fixed.length > 0) {
        table.add(section, label, `latency p50 at ${FIXED_RATE} diffs/s`, 'ms', fixed.map((f) => f.latencyMs.p50));
        table.add(section, label, `latency p99 at ${FIXED_RATE} diffs/s`, 'ms', fixed.map((f) => f.latencyMs.p99));
        table.add(section, label, `latency p99.9 at ${FIXED_RATE} diffs/s`, 'ms', fixed.map((f) => f.latencyMs.p999));
        table.add(section, label, `server CPU per delivery at ${FIXED_RATE} diffs/s`, 'µs', fixed.map((f) => f.serverCpuUsPerDelivery));
      }
      const phases = runs.flatMap((r) => [r.overload, ...(r.fixed ? [r.fixed] : [])]);
      const lost = phases.reduce((a, p) => a + p.undelivered, 0);
      const gaps = phases.reduce((a, p) => a + p.gaps, 0);
      const reorders = phases.reduce((a, p) => a + p.reorders, 0);
      const closed = phases.reduce((a, p) => a + p.closed, 0);
      if (lost + gaps + reorders + closed > 0) notes.push(`${label}, ${clients} clients: ${lost} deliveries never arrived, ${gaps} seq gaps, ${reorders} reordered, ${closed} clients closed by the server`);
      // Who was the limit: a server near 100% of its core is saturated; a load generator near
      // 100% means the server's deliveries/s is a lower bound (its CPU per delivery still holds).
      table.add(section, label, 'server core busy under overload', '%', runs.map((r) => r.overload.serverBusy * 100));
      table.add(section, label, 'load generator core busy under overload', '%', runs.map((r) => r.overload.loadgenBusy * 100));
      const behind = fixed.filter((f) => f.latencyMs.p99 > 1000).length;
      if (behind > 0) notes.push(`${label}, ${clients} clients: fell behind at ${FIXED_RATE} diffs/s in ${behind} of ${fixed.length} runs (p99 over 1 s: a growing backlog)`);
    }
  }
  for (const peer of ['gateway', 'node'] as HttpPeer[]) {
    const runs = raw.http.filter((r) => r.peer === peer);
    if (runs.length === 0) continue;
    const section = 'HTTP GET /api/v1/devices/{id} (wrk, 1 thread, 50 connections)';
    table.add(section, HTTP_PEERS[peer], 'requests/s', '1/s', runs.map((r) => r.requestsPerS));
    table.add(section, HTTP_PEERS[peer], 'latency p99', 'ms', runs.map((r) => r.latencyP99Ms));
    const errors = runs.reduce((a, r) => a + r.errors, 0);
    if (errors > 0) notes.push(`HTTP ${peer}: ${errors} errors or non-2xx answers`);
  }
  for (const target of ['simulator', 'modbus'] as const) {
    const runs = raw.control.filter((r) => r.target === target);
    if (runs.length === 0) continue;
    const section =
      target === 'simulator'
        ? 'Control round trip, simulator (POST -> driver write -> read-back -> WebSocket update at a client)'
        : 'Control round trip, Modbus TCP peer on loopback (pymodbus, one holding register): gateway POST -> write -> read-back -> WebSocket update vs modbus-serial write + read alone';
    table.add(section, 'gateway', 'round trip p50', 'ms', runs.map((r) => r.wsP50Ms));
    table.add(section, 'gateway', 'round trip p99', 'ms', runs.map((r) => r.wsP99Ms));
    table.add(section, 'gateway', 'POST to HTTP 200 p50', 'ms', runs.map((r) => r.httpP50Ms));
    table.add(section, 'gateway', 'POST to HTTP 200 p99', 'ms', runs.map((r) => r.httpP99Ms));
    if (target === 'modbus') {
      // Listed under the gateway's metric names so the ratio column reads raw / gateway.
      const rawPeer = 'raw modbus-serial writeRegister + readHoldingRegisters (no HTTP, no WebSocket)';
      table.add(section, rawPeer, 'round trip p50', 'ms', runs.map((r) => r.rawP50Ms!));
      table.add(section, rawPeer, 'round trip p99', 'ms', runs.map((r) => r.rawP99Ms!));
    }
  }
  if (raw.footprint.length > 0) {
    const section = `Footprint, built CLI, ${FOOTPRINT_DEVICES} simulated devices x 20 points polled at 1 s`;
    for (const peer of ['service', 'plain'] as FootprintPeer[]) {
      const runs = raw.footprint.filter((r) => r.peer === peer);
      const label = FOOTPRINT_PEERS[peer];
      table.add(section, label, 'start to ready', 'ms', runs.map((r) => r.readyMs));
      table.add(section, label, 'RSS, no clients', 'MiB', runs.map((r) => r.idleRssMiB));
      table.add(section, label, 'V8 heap used, no clients', 'MiB', runs.map((r) => r.idleHeapUsedMiB));
      table.add(section, label, `RSS, ${FOOTPRINT_CLIENTS} clients`, 'MiB', runs.map((r) => r.clientsRssMiB));
      table.add(section, label, `V8 heap used, ${FOOTPRINT_CLIENTS} clients`, 'MiB', runs.map((r) => r.clientsHeapUsedMiB));
      table.add(section, label, 'welcome (connection_established) per client', 'KB', runs.map((r) => r.welcomeBytes / 1000));
      table.add(section, label, 'Node external memory (buffers), no clients', 'MiB', runs.map((r) => r.idleExternalMiB));
      table.add(section, label, `Node external memory (buffers), ${FOOTPRINT_CLIENTS} clients`, 'MiB', runs.map((r) => r.clientsExternalMiB));
    }
    table.add(section, 'empty node process (floor)', 'start to ready', 'ms', raw.footprint.map((r) => r.nodeReadyMs));
    table.add(section, 'empty node process (floor)', 'RSS, no clients', 'MiB', raw.footprint.map((r) => r.nodeRssMiB));
  }
  if (raw.history.length > 0) {
    const section = `History store, built CLI, ${HISTORY_DEVICES} simulated devices x 20 points changing every 1 s poll, 7 days prefilled`;
    const on = raw.history.filter((r) => r.store);
    const off = raw.history.filter((r) => !r.store);
    const offCpu = off.map((r) => r.cpuPerS).sort((a, b) => a - b)[Math.floor(off.length / 2)] ?? 0;
    table.add(section, 'gateway', 'samples written/s', '1/s', on.map((r) => r.samplesPerS));
    table.add(section, 'gateway', 'gateway CPU per sample written (store on minus store off)', 'µs', on.map((r) => ((r.cpuPerS - offCpu) / r.samplesPerS) * 1e6));
    table.add(section, 'gateway', 'CPU, share of one core', '%', on.map((r) => r.cpuPerS * 100));
    table.add(section, 'gateway', 'bytes written to disk per hour (/proc/PID/io write_bytes)', 'MiB', on.map((r) => r.writeBytesPerHour / 2 ** 20));
    table.add(section, 'gateway', 'RSS', 'MiB', on.map((r) => r.rssMiB));
    table.add(section, 'gateway', '7-day chart query, 2 points, max_points=1000', 'ms', on.map((r) => r.query7dMs!));
    table.add(section, 'gateway', '24 h of raw samples, 1 point (8,640: the prefill keeps one per 10 s)', 'ms', on.map((r) => r.query24hRawMs!));
    table.add(section, 'gateway, history.store off', 'CPU, share of one core', '%', off.map((r) => r.cpuPerS * 100));
    table.add(section, 'gateway, history.store off', 'bytes written to disk per hour (/proc/PID/io write_bytes)', 'MiB', off.map((r) => r.writeBytesPerHour / 2 ** 20));
    table.add(section, 'gateway, history.store off', 'RSS', 'MiB', off.map((r) => r.rssMiB));
  }
  if (raw.alarms.length > 0) {
    const section = 'Alarm evaluation, in process: CPU per registry diff, 100 motors with hi/hihi on two points (journal and state file included)';
    table.add(section, 'gateway', 'values moving inside the limits', 'µs', raw.alarms.map((r) => r.quietAlarmsUs));
    table.add(section, 'gateway', 'every diff crossing a limit (one transition each)', 'µs', raw.alarms.map((r) => r.floodAlarmsUs));
    table.add(section, 'registry alone, no alarms', 'values moving inside the limits', 'µs', raw.alarms.map((r) => r.quietRegistryUs));
    table.add(section, 'registry alone, no alarms', 'every diff crossing a limit (one transition each)', 'µs', raw.alarms.map((r) => r.floodRegistryUs));
  }
  if (modbus !== undefined) {
    const section = `Modbus TCP polling, pymodbus peer, 10 holding registers, ${modbus.units} units, one request in flight`;
    const gw = 'gateway Modbus driver';
    const rawPeer = 'raw modbus-serial loop';
    table.add(section, gw, 'polls/s (median of runs)', '1/s', [modbus.gateway.median]);
    table.add(section, gw, 'client CPU per poll', 'µs', [modbus.gateway.cpuUsPerPoll]);
    table.add(section, rawPeer, 'polls/s (median of runs)', '1/s', [modbus.raw.median]);
    table.add(section, rawPeer, 'client CPU per poll', 'µs', [modbus.raw.cpuUsPerPoll]);
    const r = table.get(section, gw, 'polls/s (median of runs)')!;
    Object.assign(r, { values: [modbus.gateway.min, modbus.gateway.median, modbus.gateway.max] });
    const q = table.get(section, rawPeer, 'polls/s (median of runs)')!;
    Object.assign(q, { values: [modbus.raw.min, modbus.raw.median, modbus.raw.max] });
  }
  table.finish((section) => (section.startsWith('Modbus') ? 'gateway Modbus driver' : section.startsWith('Northbound') ? NORTHBOUND_PEERS.gateway : section.startsWith('Fan-out') ? FANOUT_PEERS.gateway.label : section.startsWith('HTTP') ? HTTP_PEERS.gateway : section.startsWith('Footprint') ? FOOTPRINT_PEERS.service : 'gateway'));

  const targets = evaluateTargets(table);
  const end = { ...info, loadavgEnd: loadavg().map((x) => +x.toFixed(2)), durationS: Math.round((Date.now() - started) / 1000) };
  const header = [
    `Mode: ${opts.quick ? 'quick' : 'full'}, ${opts.reps} interleaved reps, ${new Date().toISOString()}; ${end.durationS} s.`,
    `Machine: ${info.cores} x ${info.cpu}, ${info.memoryGiB} GiB, Linux ${info.kernel}, Node ${info.node}, uWS.js ${info.uws}, ws ${info.ws}; load average ${info.loadavgStart.join(' ')} at start, ${end.loadavgEnd.join(' ')} at the end.`,
    `Servers on core 0, load generators on core 1 (taskset), nice ${benchNice}${benchRealtime ? ', measured phases at SCHED_FIFO 10' : ''}. uWS peers: ${BACKPRESSURE_BYTES / 1048576} MiB backpressure per client. Ratio = row median / gateway median.`,
  ];
  const md = markdown(table, header, targets, notes);
  const partial = SECTIONS.some((s) => s !== 'soak' && !opts.only.includes(s) && !(opts.quick && s === 'modbus'));
  const name = `latest${opts.quick ? '-quick' : ''}${partial ? `-${opts.only.join('-')}` : ''}`;
  const files = write(name, { machine: end, mode: opts.quick ? 'quick' : 'full', reps: opts.reps, params: P, rows: table.rows, targets, notes, raw: { ...raw, modbus } }, md);
  process.stdout.write(md);
  log(`wrote ${files.json} and ${files.md}`);
}

function evaluateTargets(t: Table): string[] {
  const out: string[] = [];
  const fan = (n: number) => `Fan-out to ${n.toLocaleString('en-US')} WebSocket clients (4 devices)`;
  const dps = `deliveries/s, ${OVERLOAD.toLocaleString('en-US')}/s offered`;
  const cpu = 'server CPU per delivery under overload';
  const g = FANOUT_PEERS.gateway.label;
  const w = FANOUT_PEERS.ws.label;
  const u = FANOUT_PEERS.uws.label;
  const m = (s: string, p: string, k: string) => t.get(s, p, k)?.median ?? NaN;
  const ok = (b: boolean) => (b ? 'met' : 'NOT met');
  const s1000 = fan(1000);
  if (t.get(s1000, g, dps)) {
    const r = m(s1000, g, dps) / m(s1000, w, dps);
    const rc = m(s1000, w, cpu) / m(s1000, g, cpu);
    out.push(`>= 5x the ws server's deliveries/s at 1,000 clients: ${r.toFixed(1)}x measured (${ok(r >= 5)}); by server CPU per delivery ${rc.toFixed(1)}x.`);
    const c = m(s1000, g, dps) / m(s1000, u, dps);
    const cc = m(s1000, u, cpu) / m(s1000, g, cpu);
    out.push(`within 80% of bare uWS at 1,000 clients: ${(c * 100).toFixed(0)}% of its deliveries/s (${ok(c >= 0.8)}); by CPU per delivery ${(cc * 100).toFixed(0)}%.`);
  }
  const s100 = fan(100);
  const p99 = t.get(s100, g, `latency p99 at ${FIXED_RATE} diffs/s`);
  if (p99) out.push(`p99 < 5 ms at 100 clients x ${FIXED_RATE} diffs/s: ${p99.median.toFixed(2)} ms (${ok(p99.median < 5)}; runs ${p99.min.toFixed(2)}-${p99.max.toFixed(2)}).`);
  const fp = t.rows.find((r) => r.section.startsWith('Footprint') && r.peer === FOOTPRINT_PEERS.service && r.metric === `RSS, ${FOOTPRINT_CLIENTS} clients`);
  if (fp) out.push(`RSS < 64 MiB with ${FOOTPRINT_DEVICES} devices and ${FOOTPRINT_CLIENTS} clients: ${fp.median.toFixed(1)} MiB (${ok(fp.median < 64)}).`);
  const rd = t.rows.find((r) => r.section.startsWith('Footprint') && r.peer === FOOTPRINT_PEERS.service && r.metric === 'start to ready');
  if (rd) out.push(`start to ready < 300 ms: ${rd.median.toFixed(0)} ms (${ok(rd.median < 300)}).`);
  return out;
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    await stopAll();
    process.exitCode = 1;
  },
);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    void stopAll().then(() => process.exit(130));
  });
}
