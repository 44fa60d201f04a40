/**
 * Reads, parses and validates a config file. Every problem is reported, each with its path
 * (`devices[2].poll_interval_ms: must be >= 10`) or its line and column for YAML syntax.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { load as loadYaml } from 'js-yaml';
import * as v from 'valibot';
import { GatewayConfigSchema, type GatewayConfig } from './schema.js';
import { crossChecks, passingEntries } from './cross-checks.js';

export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfigFile(file: string): GatewayConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : String(err);
    throw new ConfigError(file, [`cannot read: ${why}`]);
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file = '<config>'): GatewayConfig {
  return validateConfig(yamlData(text, file), file);
}

/**
 * Anchors and aliases (`&a`, `*a`), tags (`!x`), directives (`%YAML 1.1`), merge keys (`<<`),
 * empty, explicit or collection keys (`: x`, `? x`, `[a]: x`): whatever js-yaml might read other than `yaml` does,
 * or expand without a bound, goes to `yaml`. Something that merely looks like one (a `*` in a
 * quoted string) only costs time.
 */
const NOT_PLAIN = /(?:^|[\s[{,:-])[&*!]|^%|<<|^[ \t-]*[:?](?:\s|$)|[\]}][ \t]*:(?:\s|$)/m;

/** Whether js-yaml may read the text (see NOT_PLAIN; whole-line comments aside). */
export function plainYaml(text: string): boolean {
  return !NOT_PLAIN.test(text.replace(/^[ \t]*#.*$/gm, ''));
}

/**
 * The YAML of a config file as plain data. Two parsers with one reading: js-yaml (YAML 1.2 core
 * schema, duplicate keys refused, as `yaml` is set here) reads a plain file in ~15 ms where
 * `yaml` takes ~60 ms to load and up to ~90 ms to parse on a cold start, about a third of the
 * gateway's start. `yaml` reads everything else: a file js-yaml refuses (so every syntax error is
 * worded as before, with its line and column) and any file with the constructs above (aliases
 * under maxAliasCount). test/config/yaml-parsers.test.ts holds the two to the same result.
 */
function yamlData(text: string, file: string): unknown {
  if (plainYaml(text)) {
    try {
      const data = loadYaml(text);
      if (!readsOtherwise(data)) return data;
    } catch {
      // worded by `yaml` below, or read by it if it accepts what js-yaml refused (an empty file)
    }
  }
  return yamlDocumentData(text, file);
}

/** A number written as one, quoted or not (a quoted one only costs the slower parser). */
const NUMBER_TEXT = /^[-+]?(?:0x[0-9a-fA-F]+|0o[0-7]+|\.[0-9]+|[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)$/;

/**
 * What js-yaml reads otherwise than `yaml`: an empty key (`{a: 1, : 2}`: "null" to js-yaml, ""
 * to yaml), and a number out of range (`1e999`: a string to js-yaml, Infinity to yaml).
 */
export function readsOtherwise(data: unknown): boolean {
  if (typeof data === 'string') return NUMBER_TEXT.test(data);
  if (typeof data !== 'object' || data === null) return false;
  if (Array.isArray(data)) return data.some(readsOtherwise);
  for (const [k, v] of Object.entries(data)) if (k === '' || k === 'null' || readsOtherwise(v)) return true;
  return false;
}

/** `yaml`, loaded only when a file needs it (see yamlData). */
export function yamlDocumentData(text: string, file: string): unknown {
  const { parseDocument } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const reason = (e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
        return `${pos ? `line ${pos.line}, column ${pos.col}: ` : ''}${reason}`;
      }),
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias to an anchor defined later, or an alias bomb past maxAliasCount: yaml throws here.
    throw new ConfigError(file, [`(top level): ${String((err as Error).message).split('\n')[0]}`]);
  }
}

export function validateConfig(data: unknown, file = '<config>'): GatewayConfig {
  if (data === null || data === undefined) throw new ConfigError(file, ['the file is empty; it needs at least a `devices:` list']);
  const result = v.safeParse(GatewayConfigSchema, data, { abortEarly: false });
  if (!result.success) {
    // The entries that did pass are cross-checked too: every problem in one run.
    throw new ConfigError(file, [...result.issues.map(formatIssue), ...crossChecks(passingEntries(data))]);
  }
  const problems = crossChecks(result.output);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return result.output;
}

export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function formatIssue(issue: v.BaseIssue<unknown>): string {
  const path = formatPath((issue.path ?? []).map((p) => p.key as string | number));
  let message = issue.message;
  if (issue.kind === 'schema' && issue.type === 'strict_object' && issue.expected === 'never') message = 'unknown setting';
  return `${path === '' ? '(top level)' : path}: ${message}`;
}
