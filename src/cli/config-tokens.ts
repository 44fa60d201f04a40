/**
 * Token entries edited in the config file itself, so an administrator never hand-edits YAML
 * to add or revoke a token: the file is parsed as a YAML document (comments and layout kept),
 * changed, validated as a whole by the config loader, and only then replaced atomically with
 * its owner and mode kept (src/platform/atomic.ts).
 */
import { readFileSync, statSync } from 'node:fs';
import { isMap, isSeq, parseDocument, type Document, YAMLMap, YAMLSeq } from 'yaml';
import { ConfigError, parseConfigText } from '../config/load.js';
import type { TokenEntry } from '../server/auth-config.js';
import { writeFileAtomic } from '../platform/atomic.js';
import { CliError, EXIT } from './exit.js';

export interface TokenFile {
  file: string;
  doc: Document;
  tokens: TokenEntry[];
}

/** Reads the config file and its current token entries; a broken file is a config error. */
export function readTokenFile(file: string): TokenFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (see --config)`, EXIT.config);
  }
  const config = validated(text, file, 'as it is');
  return { file, doc: parseDocument(text), tokens: config.auth.tokens };
}

/** Appends an entry to auth.tokens (creating the section when missing). */
export function addEntry(tf: TokenFile, entry: TokenEntry): void {
  if (tf.tokens.some((t) => t.name === entry.name)) {
    throw new CliError(`${tf.file}: a token named "${entry.name}" exists already; revoke it first (\`mgw token revoke ${entry.name}\`) or choose another name`, EXIT.usage);
  }
  const seq = tokenSeq(tf.doc, true)!;
  const node = tf.doc.createNode(entry) as YAMLMap;
  node.flow = true;
  seq.add(node);
}

/** Removes the entry named `name`; throws when there is none. */
export function removeEntry(tf: TokenFile, name: string): TokenEntry {
  const seq = tokenSeq(tf.doc, false);
  const index = seq?.items.findIndex((item) => isMap(item) && item.get('name') === name) ?? -1;
  if (seq === undefined || index < 0) {
    const known = tf.tokens.map((t) => t.name).join(', ') || 'none';
    throw new CliError(`${tf.file}: no token named "${name}" (configured: ${known})`, EXIT.usage);
  }
  seq.items.splice(index, 1);
  return tf.tokens.find((t) => t.name === name)!;
}

/** Validates the changed document and replaces the file atomically, keeping owner and mode. */
export async function saveTokenFile(tf: TokenFile): Promise<void> {
  // lineWidth 0: a token entry stays on one line, as `mgw token create` prints it.
  const text = tf.doc.toString({ lineWidth: 0 });
  validated(text, tf.file, 'after the change');
  const st = statSync(tf.file);
  try {
    await writeFileAtomic(tf.file, text, { mode: st.mode & 0o777, owner: { uid: st.uid, gid: st.gid } });
  } catch (err) {
    throw new CliError(`cannot write ${tf.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (run as the file's owner, e.g. with sudo)`, EXIT.noperm);
  }
}

function validated(text: string, file: string, when: string) {
  try {
    return parseConfigText(text, file);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(`${file} ${when} is not a valid configuration; nothing was written:\n${err.problems.map((p) => `  ${p}`).join('\n')}`, EXIT.config);
    throw err;
  }
}

function tokenSeq(doc: Document, create: boolean): YAMLSeq | undefined {
  let auth = doc.get('auth');
  if (!isMap(auth)) {
    if (!create) return undefined;
    auth = doc.createNode({});
    doc.set('auth', auth);
  }
  let seq = (auth as YAMLMap).get('tokens');
  if (!isSeq(seq)) {
    if (!create) return undefined;
    seq = new YAMLSeq();
    (auth as YAMLMap).set('tokens', seq);
  }
  return seq as YAMLSeq;
}
