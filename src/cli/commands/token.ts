/**
 * `mgw token create NAME --role ROLE`: makes a new API token, prints it once and the config
 * line to add. The gateway never stores the token, only its hash, so a lost token is replaced,
 * not recovered. `mgw token hash` turns an existing token (stdin) into its config hash.
 */
import type { Command } from 'commander';
import { ROLES, type Role } from '../../server/auth-config.js';
import { hashToken, newToken } from '../../server/auth.js';
import { CliError, EXIT } from '../exit.js';
import { print } from './devices.js';
import type { GlobalOptions } from '../main.js';

const NAME = /^[A-Za-z0-9_.@-]{1,64}$/;

export function registerTokenCommands(program: Command, globals: () => GlobalOptions): void {
  const token = program.command('token').description('create API tokens (the config stores only their hash)');
  token
    .command('create')
    .description('create a token for NAME with a role; prints the token once and the line for auth.tokens in the config')
    .argument('<name>', 'who will hold it: a person, a panel, a PLC (1-64 letters, digits, _ - . @)')
    .option('--role <role>', `one of ${ROLES.join(', ')}: viewer reads and subscribes, operator also writes, admin also reloads and reads the config`, 'viewer')
    .action((name: string, opts: { role: string }) => {
      if (!NAME.test(name)) throw new CliError(`token name must be 1-64 letters, digits, "_", "-", "." or "@", got ${JSON.stringify(name)}`, EXIT.usage);
      if (!(ROLES as readonly string[]).includes(opts.role)) throw new CliError(`--role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(opts.role)}`, EXIT.usage);
      const role = opts.role as Role;
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
