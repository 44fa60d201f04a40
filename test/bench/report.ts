/**
 * Turns repeated runs into rows (peer, metric, median, min-max, ratio to the gateway) and
 * writes results/latest.json and results/latest.md.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summary } from './lib/stats.js';
import { ROOT } from './lib/spawn.js';

export interface Row {
  section: string;
  peer: string;
  metric: string;
  unit: string;
  values: number[];
  median: number;
  min: number;
  max: number;
  /** This row's median divided by the gateway's median for the same section and metric. */
  ratio: number | null;
}

export class Table {
  readonly rows: Row[] = [];

  add(section: string, peer: string, metric: string, unit: string, values: number[]): void {
    let row = this.rows.find((r) => r.section === section && r.peer === peer && r.metric === metric);
    if (row === undefined) {
      row = { section, peer, metric, unit, values: [], median: NaN, min: NaN, max: NaN, ratio: null };
      this.rows.push(row);
    }
    row.values.push(...values);
  }

  finish(gatewayPeer: (section: string) => string): void {
    for (const r of this.rows) Object.assign(r, summary(r.values));
    for (const r of this.rows) {
      const g = this.rows.find((x) => x.section === r.section && x.metric === r.metric && x.peer === gatewayPeer(r.section));
      r.ratio = g && g !== r && Number.isFinite(g.median) && g.median !== 0 ? r.median / g.median : g === r ? 1 : null;
    }
  }

  get(section: string, peer: string, metric: string): Row | undefined {
    return this.rows.find((r) => r.section === section && r.peer === peer && r.metric === metric);
  }
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 10_000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

export function markdown(table: Table, header: string[], targets: string[], notes: string[]): string {
  const out: string[] = [...header, ''];
  let section = '';
  for (const r of table.rows) {
    if (r.section !== section) {
      section = r.section;
      out.push('', `**${section}**`, '', '| peer | metric | median | min-max | ratio to gateway |', '|---|---|---|---|---|');
    }
    out.push(`| ${r.peer} | ${r.metric} (${r.unit}) | ${fmt(r.median)} | ${fmt(r.min)}-${fmt(r.max)} | ${r.ratio === null ? '–' : r.ratio.toFixed(2)} |`);
  }
  out.push('', '**Targets**', '', ...targets.map((t) => `- ${t}`));
  if (notes.length > 0) out.push('', '**Notes**', '', ...notes.map((n) => `- ${n}`));
  return out.join('\n') + '\n';
}

export function write(name: string, json: unknown, md: string): { json: string; md: string } {
  const dir = join(ROOT, 'test/bench/results');
  mkdirSync(dir, { recursive: true });
  const jsonFile = join(dir, `${name}.json`);
  const mdFile = join(dir, `${name}.md`);
  writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(mdFile, md);
  return { json: jsonFile, md: mdFile };
}
