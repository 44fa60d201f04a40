/**
 * Real peers (socat, pymodbus, chromium, ...) are installed by test/setup.sh. In CI a missing
 * peer fails the test loudly; on a developer machine the test is skipped with the reason.
 */
import { execFileSync } from 'node:child_process';

export const inCI = process.env['CI'] === 'true' || process.env['CI'] === '1';

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns true when every command exists. In CI, throws when one is missing, so the suite fails
 * instead of skipping. Use as `describe.skipIf(!peers('socat'))(...)`.
 */
export function peers(...cmds: string[]): boolean {
  const missing = cmds.filter((c) => !hasCommand(c));
  if (missing.length === 0) return true;
  const msg = `test peer missing: ${missing.join(', ')}; run \`bash test/setup.sh\``;
  if (inCI) throw new Error(msg);
  console.warn(`skipping: ${msg}`);
  return false;
}
