/**
 * With --json, errors go to stderr as one JSON object per line, so a script gets the reason
 * as data next to the exit status: {"error": "...", "exit_code": 75}.
 */

/** True when --json was given (anywhere before a `--` that ends the options). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

export function jsonErrorLine(fields: { error: string; exit_code: number; [k: string]: unknown }): string {
  return `${JSON.stringify(fields)}\n`;
}
