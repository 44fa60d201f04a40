/**
 * The config loader reads a plain file with js-yaml (fast) and everything else with `yaml`
 * (src/config/load.ts). Both must read a file the same way: every config we ship, every scalar
 * form that could be read two ways, and thousands of mutated config texts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfigText, plainYaml, readsOtherwise, yamlDocumentData } from '../../src/config/load.js';

const ROOT = join(import.meta.dirname, '../..');

/** js-yaml's reading when the loader takes it, else undefined (refused, or handed to yaml). */
function fast(text: string): unknown {
  let data: unknown;
  try {
    data = load(text);
  } catch {
    return undefined;
  }
  return readsOtherwise(data) ? undefined : data;
}

/** `yaml`'s reading as the loader does it, or undefined when it refuses the text. */
function full(text: string): unknown {
  try {
    return yamlDocumentData(text, 'x.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

/** NaN and the infinities as text, so that equal readings compare equal. */
const same = (x: unknown) => JSON.stringify(x, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));

function expectOneReading(text: string): void {
  if (!plainYaml(text)) return; // `yaml` alone reads it
  const a = fast(text);
  if (a === undefined) return; // refused: `yaml` reads it (and words the error)
  const b = full(text);
  const sa = same(a) ?? '';
  const sb = same(b) ?? '';
  if (sb !== sa) {
    let i = 0;
    while (i < sa.length && sa[i] === sb[i]) i++;
    throw new Error(`js-yaml accepted what yaml reads otherwise, from character ${i} of its JSON:\njs-yaml: ...${sa.slice(Math.max(0, i - 80), i + 80)}\nyaml:    ...${sb.slice(Math.max(0, i - 80), i + 80)}\ntext:\n${text}`);
  }
}

describe('the two YAML parsers of the config loader', () => {
  it('read every shipped config the same, and js-yaml reads the default one', () => {
    const files = [join(ROOT, 'config/gateway.yaml'), ...readdirSync(join(ROOT, 'config/examples')).map((f) => join(ROOT, 'config/examples', f))];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      expectOneReading(text);
    }
  });

  it('js-yaml reads the default config', () => {
    const text = readFileSync(join(ROOT, 'config/gateway.yaml'), 'utf8');
    expect(plainYaml(text)).toBe(true);
    expect(fast(text)).toBeDefined();
  });

  it('read every scalar form the same (numbers, nulls, booleans, dates, quoting)', () => {
    const forms = ['1_000', '010', '0o17', '0x1F', '0b101', '+12', '-0', '.5', '5.', '1e3', '1E3', '1.5e-3', '-1.5E+3', '.inf', '-.Inf', '.nan', '.NaN', '~', 'null', 'Null', 'NULL', 'true', 'True', 'TRUE', 'yes', 'no', 'on', 'off', 'y', 'n', '2024-01-01', '2024-01-01T10:00:00Z', '12:30', '1:20:30', '"a"', "'b'", '0', '00', '1,000', '0.1.2', '123abc', '"\\u00e9"', 'é', '1.0', '[]', '{}', '""', '[1, 2,]', "'it''s'", 'a # c', '"x\n  y"'];
    for (const f of forms) expectOneReading(`k: ${f}\n`);
    expectOneReading('a:\n  - 1\n  -   2\n');
    expectOneReading('? a\n: b\n');
    expectOneReading('a: >\n  x\n  y\n');
    expectOneReading('a: |-\n  x\n');
  });

  it('send to yaml what js-yaml could read differently or without a bound', () => {
    // A YAML 1.1 directive makes `yes` a boolean for yaml; js-yaml reads it as 1.2 would.
    expect(plainYaml('%YAML 1.1\n---\na: yes\n')).toBe(false);
    expect(plainYaml('a: &x [1]\nb: *x\n')).toBe(false);
    expect(plainYaml('- *x\n')).toBe(false);
    expect(plainYaml('a: !!binary aGk=\n')).toBe(false);
    expect(plainYaml('<<: {a: 1}\n')).toBe(false);
    // An alias bomb is refused by yaml's alias bound, not expanded.
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`), 'devices: *h', ''].join('\n');
    expect(() => parseConfigText(bomb)).toThrow(ConfigError);
    // Empty files: js-yaml refuses them, yaml reads null, the loader says what is missing.
    expect(() => parseConfigText('')).toThrow(/the file is empty/);
    expect(() => parseConfigText('# nothing\n')).toThrow(/the file is empty/);
    // A syntax error keeps yaml's line and column.
    expect(() => parseConfigText('devices:\n  - id: a\n   driver: x\n')).toThrow(/line \d+, column \d+/);
  });

  it('read 3,000 mutated config texts the same whenever js-yaml accepts one', () => {
    const text = readFileSync(join(ROOT, 'config/examples/simulator-plant.yaml'), 'utf8') + stringify({ extra: { list: [1, 'two', null, true, 3.5], map: { 'a b': '', c: '0x10' } } });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(text.length), fc.nat(20), fc.constantFrom('', ':', '- ', '\n', '  ', '{', '[', ']', '}', ',', '"', "'", '?', '|', '>', '\t', '#', '~', '0x1F', '1e999', '1_0', '0o7', '.5', 'yes', 'null', '__proto__: ', '"\\x41"', "''")), { minLength: 1, maxLength: 4 }),
        (edits) => {
          let t = text;
          for (const [at, cut, insert] of edits) t = t.slice(0, at) + insert + t.slice(Math.min(t.length, at + cut));
          expectOneReading(t);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
