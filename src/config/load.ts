/**
 * Reads, parses and validates a config file. Every problem is reported, each with its path
 * (`devices[2].poll_interval_ms: must be >= 10`) or its line and column for YAML syntax.
 */
import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import { parseDocument } from 'yaml';
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
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // An alias to an anchor defined later, or an alias bomb past maxAliasCount: yaml throws here.
    throw new ConfigError(file, [`(top level): ${String((err as Error).message).split('\n')[0]}`]);
  }
  return validateConfig(data, file);
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
