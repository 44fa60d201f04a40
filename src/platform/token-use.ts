/**
 * When and from where each token was last accepted, kept across restarts in
 * `<state_dir>/token-use.json` for `mgw token list`.
 *
 * The gateway notes each use in memory (src/server/auth-guard.ts); this writer puts the whole
 * table on disk at most once per `intervalMs` (60 s) and only when it changed, plus on reload
 * and on a clean stop: an SD card is not written per request. Each write replaces the file
 * atomically (temp file, fsync, rename, fsync of the directory), so a power cut leaves the
 * previous table or the new one, never a torn file; what it can lose is the last minute's uses.
 * A file that cannot be read is set aside with a warning (the table starts empty), never a
 * failed start.
 */
import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Security, TokenUse } from '../server/auth-guard.js';
import { writeFileAtomic } from './atomic.js';
import { isoTime } from '../core/time.js';

export const TOKEN_USE_FILE = 'token-use.json';

interface FileShape {
  version: 1;
  /** By token name: ISO time, remote address, hash fingerprint. */
  tokens: Record<string, { last_used: string; remote: string; hash: string }>;
}

export interface TokenUseOptions {
  /** The state directory. */
  dir: string;
  security: Security;
  log: Logger;
  /** Longest time a use stays in memory only (ms); default 60 s. */
  intervalMs?: number;
}

export class TokenUseFile {
  private timer: NodeJS.Timeout | undefined;
  private writtenVersion = -1;
  private writing: Promise<void> = Promise.resolve();
  private failing = false;

  constructor(private readonly options: TokenUseOptions) {}

  get file(): string {
    return join(this.options.dir, TOKEN_USE_FILE);
  }

  /** Reads the table into the security layer and starts the periodic writer. */
  start(): void {
    this.load();
    this.writtenVersion = this.options.security.lastUseVersion;
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs ?? 60_000);
    this.timer.unref();
  }

  /** Writes the table if any token was used since the last write. Never throws. */
  flush(): Promise<void> {
    const next = this.writing.then(() => this.write());
    this.writing = next;
    return next;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  private load(): void {
    const { security, log } = this.options;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file: this.file, err }, 'cannot read when tokens were last used; starting without it');
      return;
    }
    const saved: Record<string, TokenUse> = {};
    try {
      const parsed = JSON.parse(text) as FileShape;
      if (parsed?.version !== 1 || typeof parsed.tokens !== 'object' || parsed.tokens === null) throw new Error('not a version 1 table');
      for (const [name, t] of Object.entries(parsed.tokens)) {
        const at = Date.parse(t?.last_used);
        if (!Number.isFinite(at) || typeof t.remote !== 'string' || typeof t.hash !== 'string') throw new Error(`entry "${name}" is not {last_used, remote, hash}`);
        saved[name] = { at, remote: t.remote, hash: t.hash };
      }
    } catch (err) {
      const aside = `${this.file}.bad`;
      try {
        renameSync(this.file, aside);
      } catch {
        // Left where it is; the next write replaces it.
      }
      log.warn({ file: this.file, moved_to: aside, reason: (err as Error).message }, 'the file of when tokens were last used is damaged; set aside, starting without it');
      return;
    }
    const restored = security.restoreLastUse(saved);
    log.debug({ file: this.file, restored }, 'token last use restored');
  }

  private async write(): Promise<void> {
    const { security, log } = this.options;
    const version = security.lastUseVersion;
    // Not started (a start that failed early) or nothing new: the file stays as it is.
    if (this.writtenVersion === -1 || version === this.writtenVersion) return;
    const tokens: FileShape['tokens'] = {};
    for (const [name, u] of Object.entries(security.lastUseSnapshot())) tokens[name] = { last_used: isoTime(u.at), remote: u.remote, hash: u.hash };
    const body: FileShape = { version: 1, tokens };
    try {
      await writeFileAtomic(this.file, `${JSON.stringify(body, null, 1)}\n`);
      this.writtenVersion = version;
      if (this.failing) log.info({ file: this.file }, 'token last use written again');
      this.failing = false;
    } catch (err) {
      // Tried again at the next interval; the uses stay in memory meanwhile.
      if (!this.failing) log.warn({ file: this.file, err }, 'cannot write when tokens were last used; trying again in a minute');
      this.failing = true;
    }
  }
}
