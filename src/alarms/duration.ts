/**
 * Shelving durations as operators write them: `30m`, `2h`, `1h30m`, `90s`, or a number of
 * seconds. Browser-safe: the HMI, the CLI and the API parse them the same way.
 */
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds, or undefined when the text is not a duration. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input > 0 ? input : undefined;
  const text = input.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) > 0 ? Number(text) : undefined;
  if (!/^(\d+(\.\d+)?[smhd])+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)([smhd])/g)) total += Number(m[1]) * UNIT_S[m[2]!]!;
  return total > 0 ? total : undefined;
}
