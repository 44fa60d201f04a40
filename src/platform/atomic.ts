/**
 * Files the gateway writes (state, snapshots, tokens, rotated audit segments) are replaced
 * atomically, so a power cut leaves either the old file or the new one, never a torn mix:
 *
 *   write `name.tmp-<pid>-<n>` -> fsync it -> rename over `name` -> fsync the directory
 *
 * The first fsync puts the data on disk before the rename can be; the directory fsync makes the
 * rename itself durable (ext4 and f2fs on SD cards both need it). A leftover temp file from a
 * crash is harmless and is removed by the next write of the same file.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink, readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of a new file (default 0o600: state is for the gateway's user only). */
  mode?: number;
  /** Owner of the new file (root rewriting a file the gateway's group must read). */
  owner?: { uid: number; gid: number };
}

let counter = 0;
const tempName = (file: string) => join(dirname(file), `.${basename(file)}.tmp-${process.pid}-${counter++}`);
const isTempOf = (file: string, entry: string) => entry.startsWith(`.${basename(file)}.tmp-`);

/** Replaces `file` with `data` atomically and durably; blocks (use for small files, shutdown paths). */
export function writeFileAtomicSync(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempName(file);
  const fd = openSync(tmp, 'wx', options.mode ?? 0o600);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.byteLength) off += writeSync(fd, buf, off, buf.byteLength - off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, file);
  } catch (err) {
    unlinkQuiet(tmp);
    throw err;
  }
  fsyncDirSync(dirname(file));
  removeStaleTemps(file);
}

/** The same, without blocking the event loop. */
export async function writeFileAtomic(file: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = tempName(file);
  const handle = await open(tmp, 'wx', options.mode ?? 0o600);
  try {
    if (options.owner !== undefined) await handle.chown(options.owner.uid, options.owner.gid);
    // The umask may have taken bits of the mode away; the file gets exactly the mode asked for.
    if (options.mode !== undefined) await handle.chmod(options.mode);
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  for (const entry of await readdir(dirname(file)).catch(() => [] as string[])) {
    if (isTempOf(file, entry) && !entry.includes(`.tmp-${process.pid}-`)) await unlink(join(dirname(file), entry)).catch(() => undefined);
  }
}

/** fsync a directory, so a rename or a new file in it survives a power cut. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Temp files of earlier processes (crashed mid-write) for the same target. */
function removeStaleTemps(file: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dirname(file));
  } catch {
    return;
  }
  for (const entry of entries) {
    if (isTempOf(file, entry) && !entry.includes(`.tmp-${process.pid}-`)) unlinkQuiet(join(dirname(file), entry));
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    /* already gone */
  }
}
