/**
 * API tokens. `mgw token add NAME --role ROLE [--expires DATE]` makes a token, prints it once,
 * writes its hash into the config file (atomically) and reloads the running gateway; `revoke`
 * removes one the same way (its open WebSockets are closed by the reload); `list` shows the
 * tokens with expiry and, from the running gateway, when and from where each was last used.
 * The gateway never stores a token, only its hash, so a lost token is replaced, not recovered.
 * `create` only prints the line to add by hand; `hash` turns an existing token (stdin) into its hash.
 */
import type { Command } from 'commander';
import { ROLES, type Role, type TokenEntry } from '../../server/auth-config.js';
import { expiryMs, hashToken, newToken } from '../../server/auth.js';
import type { TokenReport } from '../../server/auth-guard.js';
import { api } from '../api.js';
import { CliError, EXIT } from '../exit.js';
import { addEntry, readTokenFile, removeEntry, saveTokenFile } from '../config-tokens.js';
import { defaultConfigPath } from '../paths.js';
import { print, table } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { isoTime } from '../../core/time.js';

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export function registerTokenCommands(program: Command, globals: () => GlobalOptions): void {
  const token = program.command('token').description('add, list and revoke API tokens (the config stores only their hash)');
  token
    .command('add')
    .description('create a token for NAME, write its hash into the config file and reload the running gateway; prints the token once')
    .argument('<name>', 'who will hold it: a person, a panel, a PLC (1-64 letters, digits, _ - . @)')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'viewer')
    .option('--expires <date>', 'when it stops working: a date (2027-03-31, UTC) or a time (2027-03-31T18:00:00Z)')
    .option('-c, --config <file>', 'configuration file', defaultConfigPath())
    .option('--no-reload', 'only write the file; the gateway applies it at its next reload')
    .action(async (name: string, opts: { role: string; expires?: string; config: string; reload: boolean }) => {
      const role = checkNameAndRole(name, opts.role);
      const entry: TokenEntry = { name, role, hash: '' };
      if (opts.expires !== undefined) {
        if (Number.isNaN(expiryMs(opts.expires))) throw new CliError(`--expires must be a date such as 2027-03-31 or a time such as 2027-03-31T18:00:00Z, got ${JSON.stringify(opts.expires)}`, EXIT.usage);
        if (expiryMs(opts.expires) <= Date.now()) throw new CliError(`--expires ${opts.expires} is in the past`, EXIT.usage);
        entry.expires = opts.expires;
      }
      const secret = newToken();
      entry.hash = hashToken(secret);
      const tf = readTokenFile(opts.config);
      addEntry(tf, entry);
      await saveTokenFile(tf);
      const reloaded = opts.reload ? await reload(globals()) : 'not reloaded (--no-reload)';
      if (globals().json) {
        print(JSON.stringify({ name, role, expires: entry.expires ?? null, token: secret, hash: entry.hash, file: opts.config, reload: reloaded }));
        return;
      }
      print(`token for ${name} (${role}${entry.expires ? `, until ${entry.expires}` : ''}); shown only now, store it where ${name} keeps secrets:\n\n  ${secret}\n`);
      print(`added to ${opts.config}; gateway: ${reloaded}`);
    });
  token
    .command('revoke')
    .description('remove the token NAME from the config file and reload the running gateway (its open WebSockets are closed)')
    .argument('<name>', 'the token name, as `mgw token list` shows it')
    .option('-c, --config <file>', 'configuration file', defaultConfigPath())
    .option('--no-reload', 'only write the file; the gateway applies it at its next reload')
    .action(async (name: string, opts: { config: string; reload: boolean }) => {
      const tf = readTokenFile(opts.config);
      const removed = removeEntry(tf, name);
      await saveTokenFile(tf);
      const reloaded = opts.reload ? await reload(globals()) : 'not reloaded (--no-reload)';
      if (globals().json) print(JSON.stringify({ name, role: removed.role, file: opts.config, reload: reloaded }));
      else print(`revoked ${name} (${removed.role}) in ${opts.config}; gateway: ${reloaded}`);
    });
  token
    .command('list')
    .description('the tokens of the config file: role, expiry, and (from the running gateway, admin token) when and from where each was last used')
    .option('-c, --config <file>', 'configuration file', defaultConfigPath())
    .action(async (opts: { config: string }) => {
      const g = globals();
      const tf = readTokenFile(opts.config);
      let live: Map<string, TokenReport> | undefined;
      let why = '';
      try {
        live = new Map((await api<{ tokens: TokenReport[] }>(g, 'GET', 'api/v1/tokens')).tokens.map((t) => [t.name, t]));
      } catch (err) {
        why = (err as Error).message;
      }
      const now = Date.now();
      const rows = tf.tokens.map((t) => {
        const used = live?.get(t.name);
        const expiresAt = t.expires === undefined ? undefined : expiryMs(t.expires);
        return {
          name: t.name,
          role: t.role,
          expires: expiresAt === undefined ? null : isoTime(expiresAt),
          expired: expiresAt !== undefined && now >= expiresAt,
          last_used: used?.last_used ?? null,
          last_remote: used?.last_remote ?? null,
          loaded: live === undefined ? null : used !== undefined,
        };
      });
      if (g.json) {
        for (const r of rows) print(JSON.stringify(r));
        return;
      }
      if (rows.length === 0) print(`no tokens in ${opts.config}: the gateway is open to whoever reaches it (loopback only unless auth.trusted_network)`);
      else {
        print(
          table(
            ['NAME', 'ROLE', 'EXPIRES', 'LAST USED', 'FROM'],
            rows.map((r) => [
              r.loaded === false ? `${r.name} (not loaded yet: reload)` : r.name,
              r.role,
              r.expires === null ? 'never' : r.expired ? `${r.expires} (expired)` : r.expires,
              r.last_used ?? (live === undefined ? '?' : 'never'),
              r.last_remote ?? '-',
            ]),
          ),
        );
      }
      if (live === undefined) process.stderr.write(`mgw: last use unknown: ${why}\n`);
    });
  token
    .command('create')
    .description('create a token for NAME with a role; prints the token once and the line for auth.tokens in the config')
    .argument('<name>', 'who will hold it: a person, a panel, a PLC (1-64 letters, digits, _ - . @)')
    .option('--role <role>', `one of ${ROLES.join(', ')}: viewer reads and subscribes, operator also writes, admin also reloads and reads the config`, 'viewer')
    .action((name: string, opts: { role: string }) => {
      const role = checkNameAndRole(name, opts.role);
      const secret = newToken();
      const hash = hashToken(secret);
      if (globals().json) {
        print(JSON.stringify({ name, role, token: secret, hash }));
        return;
      }
      print(`token for ${name} (${role}); shown only now, store it where ${name} keeps secrets:\n\n  ${secret}\n`);
      print('add this entry under auth.tokens in the gateway config, then reload (`mgw reload`) or restart:\n');
      print(`  - { name: ${name}, role: ${role}, hash: "${hash}" }\n`);
      print(`use it with: mgw --token ${secret.slice(0, 8)}... (or MGW_TOKEN), HTTP "Authorization: Bearer <token>",`);
      print('or in a browser WebSocket: new WebSocket(url, ["mgw.v1", "bearer.<token>"]) or ws://host/ws/devices?token=<token>');
    });
  token
    .command('hash')
    .description('print the config hash of an existing token read from stdin (for moving a token to another gateway)')
    .action(async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      const secret = Buffer.concat(chunks).toString('utf8').trim();
      if (secret === '') throw new CliError('no token on stdin; e.g. `printenv MGW_TOKEN | mgw token hash`', EXIT.usage);
      print(hashToken(secret));
    });
}

function checkNameAndRole(name: string, role: string): Role {
  if (!NAME.test(name)) throw new CliError(`token name must be 1-64 letters, digits, "_", "-", "." or "@", got ${JSON.stringify(name)}`, EXIT.usage);
  if (!(ROLES as readonly string[]).includes(role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(role)}`, EXIT.usage);
  return role as Role;
}

/** Asks the running gateway to reload; says what happened rather than failing: the file is written either way. */
async function reload(g: GlobalOptions): Promise<string> {
  try {
    await api(g, 'POST', 'api/v1/admin/reload');
    return 'reloaded';
  } catch (err) {
    process.exitCode = EXIT.unavailable;
    return `NOT reloaded (${(err as Error).message}); run \`mgw reload\` with an admin token or \`systemctl reload machine-gateway\``;
  }
}
