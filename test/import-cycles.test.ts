/**
 * No import cycle in src/ or drivers/, type-only imports included: a module and what it imports
 * form a tree, so a shared type lives in a leaf module both sides import. The graph is read
 * from the sources (`import`/`export ... from`, `import type` too, and `import('...')`, since a
 * command loaded lazily still depends on what it imports) and its strongly connected components are found with Tarjan's
 * algorithm: any component of more than one module, or a module importing itself, is a cycle.
 */
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Relative static imports of one file, resolved to the .ts files they name. */
export function importsOf(file: string, code: string): string[] {
  const body = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const specs = [
    ...[...body.matchAll(/(?:^|[\n;])\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]/g)].map((m) => m[1]!),
    // A lazy import is still a dependency: main.ts loads the commands this way.
    ...[...body.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!),
  ];
  const out: string[] = [];
  for (const spec of specs) {
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
    if (existsSync(target)) out.push(target);
    else if (existsSync(join(target.replace(/\.ts$/, ''), 'index.ts'))) out.push(join(target.replace(/\.ts$/, ''), 'index.ts'));
    else throw new Error(`${relative(ROOT, file)} imports ${spec}, which is not a source file`);
  }
  return out;
}

/** Every cycle of the graph, as the modules of one strongly connected component. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

it('finds a cycle when there is one (the check can fail)', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  expect(cycles(g)).toEqual([['a', 'b', 'c']]);
  expect(cycles(new Map([['a', ['b']], ['b', []]]))).toEqual([]);
  expect(importsOf(join(ROOT, 'src/x.ts'), "import type { A } from './gateway.js';\nexport { B } from './reload.js';\n// import { C } from './nope.js';")).toEqual([
    join(ROOT, 'src/gateway.ts'),
    join(ROOT, 'src/reload.ts'),
  ]);
});

it('src/ and drivers/ import without cycles, type imports included', () => {
  const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'drivers'))];
  expect(files.length).toBeGreaterThan(100);
  const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(f, 'utf8'))]));
  const found = cycles(graph).map((scc) => scc.map((f) => relative(ROOT, f)).join(' <-> '));
  expect(found).toEqual([]);
});
