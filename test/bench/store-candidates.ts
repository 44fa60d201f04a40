/**
 * Embedded stores for the history, measured on the same workload, each in a fresh process:
 *
 *   write: 2000 series (100 devices x 20 points) at 1 Hz for 5 minutes, one durable commit per
 *          5 s of samples (10,000 samples): insert rate, CPU per sample, bytes written per
 *          sample (/proc/self/io write_bytes), file bytes per sample, RSS
 *   query: one series with 7 days at 1 Hz in the same store; the last 24 h and 7 d fetched raw
 *          and as ~1000 buckets of min/max/mean (medians of 5)
 *
 * The candidates are not dependencies of the gateway: install them beside it and point here:
 *   npm install --prefix /tmp/mgw-candidates lmdb @duckdb/node-api node-sqlite3-wasm
 *   npx tsx test/bench/store-candidates.ts --candidates /tmp/mgw-candidates [--reps 3]
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { HistoryStore } from '../../src/historian/store.js';
import { runStoreQuery } from '../../src/historian/query.js';

/** `none` stores nothing: the RSS and CPU of the workload itself, to subtract. */
const ENGINES = ['none', 'segments', 'sqlite-wasm', 'lmdb', 'duckdb'] as const;
type Engine = (typeof ENGINES)[number];

const DEVICES = 100;
const POINTS = 20;
const WRITE_S = 300;
const BATCH_S = 5;
const LONG_DAYS = 7;
const T0 = Date.UTC(2026, 10, 2, 12, 0, 0);
const DAY = 86_400_000;
const BUCKETS = 1000;

export interface CandidateResult {
  engine: Engine;
  version: string;
  insertPerS: number;
  cpuUsPerSample: number;
  writeBytesPerSample: number;
  fileBytesPerSample: number;
  rssMiB: number;
  rssAfterWriteMiB: number;
  q24hRawMs: number;
  q7dRawMs: number;
  q24hBucketsMs: number;
  q7dBucketsMs: number;
  rows7dRaw: number;
  rows7dBuckets: number;
}

interface Adapter {
  version: string;
  /** One durable commit of samples: series index, time ms, value. */
  commit(rows: { s: number; t: number; v: number }[], now: number): Promise<void>;
  raw(s: number, from: number, to: number): Promise<number>;
  buckets(s: number, from: number, to: number, bucketMs: number): Promise<number>;
  close(): Promise<void>;
}

const seriesName = (s: number) => ({ device: `dev_${Math.floor(s / POINTS)}`, point: `ai${String((s % POINTS) + 1).padStart(2, '0')}` });

async function openAdapter(engine: Engine, dir: string, candidates: string): Promise<Adapter> {
  const req = createRequire(join(candidates, 'node_modules', 'x.js'));
  const version = (name: string) => (JSON.parse(readFileSync(join(candidates, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  switch (engine) {
    case 'none':
      return { version: '-', commit: async () => {}, raw: async () => 0, buckets: async () => 0, close: async () => {} };
    case 'segments': {
      let now = T0;
      const store = new HistoryStore({
        dir,
        retentionMs: { raw: 30 * DAY, '1m': 365 * DAY, '1h': 3650 * DAY },
        maxBytes: 64 * 1024 ** 3,
        fsync: true,
        now: () => now,
        log: pino({ level: 'silent' }),
      });
      store.open();
      const points = { ai01: { type: 'number' as const, access: 'r' as const } };
      return {
        version: 'this repository',
        async commit(rows, t) {
          now = t;
          for (const r of rows) {
            const n = seriesName(r.s);
            store.add(n.device, n.point, r.t, r.v, 0);
          }
          await store.flush();
        },
        async raw(s, from, to) {
          const n = seriesName(s);
          return store.read('raw', n.device, [n.point], from, to).get(n.point)!.raw.length;
        },
        async buckets(s, from, to) {
          const n = seriesName(s);
          const a = runStoreQuery(store, n.device, points, { fromMs: from, toMs: to, points: [n.point], resolution: undefined, maxPoints: BUCKETS }, { maxRows: 1e9, maxRawSpanMs: 1e15 });
          return a.points[n.point]!.t.length;
        },
        close: () => store.close(),
      };
    }
    case 'sqlite-wasm': {
      const { Database } = req('node-sqlite3-wasm') as typeof import('node-sqlite3-wasm');
      const db = new Database(join(dir, 'history.db'));
      // WAL needs shared memory the WASM VFS does not offer: a rollback journal, synced per commit.
      db.exec('PRAGMA journal_mode=TRUNCATE; PRAGMA synchronous=FULL; PRAGMA page_size=4096;');
      db.exec('CREATE TABLE samples (series INTEGER NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL, q INTEGER NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID');
      const ins = db.prepare('INSERT OR REPLACE INTO samples VALUES (?, ?, ?, 0)');
      const raw = db.prepare('SELECT t, v FROM samples WHERE series = ? AND t BETWEEN ? AND ?');
      const agg = db.prepare('SELECT t / ? AS b, min(v), max(v), avg(v), count(*) FROM samples WHERE series = ? AND t BETWEEN ? AND ? GROUP BY b');
      return {
        version: version('node-sqlite3-wasm'),
        async commit(rows) {
          db.exec('BEGIN');
          for (const r of rows) ins.run([r.s, r.t, r.v]);
          db.exec('COMMIT');
        },
        async raw(s, from, to) {
          return raw.all([s, from, to]).length;
        },
        async buckets(s, from, to, b) {
          return agg.all([b, s, from, to]).length;
        },
        async close() {
          ins.finalize();
          raw.finalize();
          agg.finalize();
          db.close();
        },
      };
    }
    case 'lmdb': {
      const { open } = req('lmdb') as typeof import('lmdb');
      // Keys [series, t] in order; values [v, q]. Default durability: a sync per transaction.
      const db = open<[number, number], [number, number]>({ path: join(dir, 'history.mdb'), mapSize: 16 * 1024 ** 3 });
      const range = (s: number, from: number, to: number) => db.getRange({ start: [s, from], end: [s, to + 1] });
      return {
        version: version('lmdb'),
        async commit(rows) {
          await db.transaction(() => {
            for (const r of rows) db.put([r.s, r.t], [r.v, 0]);
          });
        },
        async raw(s, from, to) {
          let n = 0;
          for (const _ of range(s, from, to)) n++;
          return n;
        },
        async buckets(s, from, to, b) {
          const m = new Map<number, { min: number; max: number; sum: number; n: number }>();
          for (const { key, value } of range(s, from, to)) {
            const k = Math.floor(key[1] / b);
            const e = m.get(k);
            if (e === undefined) m.set(k, { min: value[0], max: value[0], sum: value[0], n: 1 });
            else {
              e.min = Math.min(e.min, value[0]);
              e.max = Math.max(e.max, value[0]);
              e.sum += value[0];
              e.n++;
            }
          }
          return m.size;
        },
        async close() {
          await db.close();
        },
      };
    }
    case 'duckdb': {
      const { DuckDBInstance } = req('@duckdb/node-api') as typeof import('@duckdb/node-api');
      const instance = await DuckDBInstance.create(join(dir, 'history.duckdb'));
      const conn = await instance.connect();
      await conn.run('CREATE TABLE samples (series INTEGER, t BIGINT, v DOUBLE, q UTINYINT)');
      return {
        version: version('@duckdb/node-api'),
        async commit(rows) {
          const app = await conn.createAppender('samples');
          for (const r of rows) {
            app.appendInteger(r.s);
            app.appendBigInt(BigInt(r.t));
            app.appendDouble(r.v);
            app.appendUTinyInt(0);
            app.endRow();
          }
          app.closeSync();
        },
        async raw(s, from, to) {
          return (await conn.runAndReadAll(`SELECT t, v FROM samples WHERE series = ${s} AND t BETWEEN ${from} AND ${to}`)).getRows().length;
        },
        async buckets(s, from, to, b) {
          return (await conn.runAndReadAll(`SELECT t // ${b} AS b, min(v), max(v), avg(v), count(*) FROM samples WHERE series = ${s} AND t BETWEEN ${from} AND ${to} GROUP BY b`)).getRows().length;
        },
        async close() {
          conn.closeSync();
          instance.closeSync();
        },
      };
    }
  }
}

function writeBytes(): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(m?.[1] ?? 0);
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n += statSync(join(e.parentPath, e.name)).size;
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timed(f: () => Promise<number>): Promise<{ ms: number; rows: number }> {
  const ms: number[] = [];
  let rows = 0;
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    rows = await f();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), rows };
}

/** A bounded random walk per series: values change every second, like a noisy analog input. */
function value(s: number, t: number): number {
  return 50 + 30 * Math.sin(t / 600_000 + s) + ((t / 1000 + s * 7) % 13) / 10;
}

async function child(engine: Engine, dir: string, candidates: string): Promise<CandidateResult> {
  const db = await openAdapter(engine, dir, candidates);
  // The 7-day series first (series 0 = dev_0.ai01), a day per commit: it is the query's subject.
  const longStart = T0 - LONG_DAYS * DAY - WRITE_S * 1000;
  for (let day = 0; day < LONG_DAYS; day++) {
    const rows = [];
    for (let t = longStart + day * DAY; t < longStart + (day + 1) * DAY; t += 1000) rows.push({ s: 0, t, v: value(0, t) });
    await db.commit(rows, rows.at(-1)!.t + 1);
  }
  // The write phase: every series, 1 Hz, one commit per 5 s.
  const series = DEVICES * POINTS;
  const io0 = writeBytes();
  const bytes0 = dirBytes(dir);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  let samples = 0;
  for (let b = 0; b < WRITE_S / BATCH_S; b++) {
    const rows = [];
    const base = T0 - WRITE_S * 1000 + b * BATCH_S * 1000;
    for (let k = 0; k < BATCH_S; k++) for (let s = 0; s < series; s++) rows.push({ s, t: base + k * 1000, v: value(s, base + k * 1000) });
    await db.commit(rows, base + BATCH_S * 1000);
    samples += rows.length;
  }
  const wallS = (performance.now() - wall0) / 1000;
  const rssWrite = process.memoryUsage().rss;
  const cpu = process.cpuUsage(cpu0);
  const written = writeBytes() - io0;
  const fileBytes = dirBytes(dir) - bytes0;
  const end = T0;
  const q24 = await timed(() => db.raw(0, end - DAY, end));
  const q7 = await timed(() => db.raw(0, end - LONG_DAYS * DAY, end));
  const b24 = await timed(() => db.buckets(0, end - DAY, end, Math.ceil(DAY / BUCKETS)));
  const b7 = await timed(() => db.buckets(0, end - LONG_DAYS * DAY, end, Math.ceil((LONG_DAYS * DAY) / BUCKETS)));
  const rss = process.memoryUsage().rss;
  await db.close();
  return {
    engine,
    version: db.version,
    insertPerS: Math.round(samples / wallS),
    cpuUsPerSample: +((cpu.user + cpu.system) / samples).toFixed(2),
    writeBytesPerSample: +(written / samples).toFixed(1),
    fileBytesPerSample: +(fileBytes / samples).toFixed(1),
    rssMiB: +(rss / 2 ** 20).toFixed(1),
    rssAfterWriteMiB: +(rssWrite / 2 ** 20).toFixed(1),
    q24hRawMs: +q24.ms.toFixed(1),
    q7dRawMs: +q7.ms.toFixed(1),
    q24hBucketsMs: +b24.ms.toFixed(1),
    q7dBucketsMs: +b7.ms.toFixed(1),
    rows7dRaw: q7.rows,
    rows7dBuckets: b7.rows,
  };
}

/** Runs each engine in its own process, rotating the order rep after rep; medians per engine. */
export function runCandidates(candidates: string, reps: number, engines: readonly Engine[] = ENGINES, log = (s: string) => process.stderr.write(`${s}\n`)): CandidateResult[] {
  const me = fileURLToPath(import.meta.url);
  const all = new Map<Engine, CandidateResult[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (let i = 0; i < engines.length; i++) {
      const engine = engines[(i + rep) % engines.length]!;
      const dir = mkdtempSync(join(tmpdir(), `mgw-cand-${engine}-`));
      const r = spawnSync(process.execPath, ['--import', 'tsx', me, '--child', engine, '--dir', dir, '--candidates', candidates], { encoding: 'utf8', maxBuffer: 1 << 24 });
      rmSync(dir, { recursive: true, force: true });
      if (r.status !== 0) throw new Error(`${engine} failed: ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as CandidateResult;
      log(`rep ${rep + 1} ${engine}: ${JSON.stringify(res)}`);
      all.set(engine, [...(all.get(engine) ?? []), res]);
    }
  }
  return engines.map((e) => {
    const list = all.get(e)!;
    const med = (k: keyof CandidateResult) => median(list.map((x) => x[k] as number));
    return {
      engine: e,
      version: list[0]!.version,
      insertPerS: med('insertPerS'),
      cpuUsPerSample: med('cpuUsPerSample'),
      writeBytesPerSample: med('writeBytesPerSample'),
      fileBytesPerSample: med('fileBytesPerSample'),
      rssMiB: med('rssMiB'),
      rssAfterWriteMiB: med('rssAfterWriteMiB'),
      q24hRawMs: med('q24hRawMs'),
      q7dRawMs: med('q7dRawMs'),
      q24hBucketsMs: med('q24hBucketsMs'),
      q7dBucketsMs: med('q7dBucketsMs'),
      rows7dRaw: med('rows7dRaw'),
      rows7dBuckets: med('rows7dBuckets'),
    };
  });
}

const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const candidates = arg('--candidates') ?? '/tmp/mgw-candidates';
  const engine = arg('--child') as Engine | undefined;
  if (engine !== undefined) {
    const r = await child(engine, arg('--dir')!, candidates);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    const only = arg('--only')?.split(',') as Engine[] | undefined;
    const results = runCandidates(candidates, Number(arg('--reps') ?? 3), only ?? ENGINES);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  }
}
