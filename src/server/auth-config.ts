/**
 * The `auth:` section of the config: who may connect, with which role, from which web pages.
 * Tokens are stored as a hash only; `mgw token create` prints the token once and the line to add.
 */
import * as v from 'valibot';
import { int } from '../config/fields.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** sha256 of a 256-bit random token: a brute force of the hash is as hard as guessing the token. */
export const TOKEN_HASH = /^sha256:[0-9a-f]{64}$/;

export const TokenEntrySchema = v.strictObject(
  {
    name: v.pipe(
      v.string('must be a string'),
      v.regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'must be 1-64 letters, digits, "_", "-", "." or "@"'),
      v.description('Who holds the token (a person, a panel, a line PLC); shown in the audit trail and the logs.'),
    ),
    role: v.pipe(
      v.picklist(ROLES, `must be one of ${ROLES.join(', ')}`),
      v.description('viewer: read and subscribe. operator: + control writes. admin: + reload and config read.'),
    ),
    hash: v.pipe(
      v.string('must be a string'),
      v.regex(TOKEN_HASH, 'must be "sha256:" followed by 64 lowercase hex digits, as printed by `mgw token create`'),
      v.description('sha256 of the token, never the token itself (`mgw token add NAME --role ROLE` prints the token and writes this).'),
    ),
    expires: v.optional(
      v.pipe(
        v.string('must be a date such as 2027-03-31 or a time such as 2027-03-31T18:00:00Z'),
        v.regex(/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/, 'must be a date such as 2027-03-31 or a time such as 2027-03-31T18:00:00Z'),
        v.check((s) => !Number.isNaN(Date.parse(s)), 'is not a real date'),
        v.description('When the token stops working (a date means its start, UTC). Without it the token works until revoked.'),
      ),
    ),
  },
  'unknown setting',
);

/** An Origin as browsers send it: scheme, host and optional port, nothing else. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$|^https?:\/\/\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

export const AuthSchema = v.strictObject(
  {
    tokens: v.optional(
      v.pipe(
        v.array(TokenEntrySchema, 'must be a list of tokens, e.g. - { name: panel_1, role: operator, hash: "sha256:..." }'),
        v.description('API tokens. Without any, the gateway is open to anyone who can reach it and so listens on loopback only.'),
      ),
      [],
    ),
    trusted_network: v.optional(
      v.pipe(
        v.boolean('must be true or false'),
        v.description('true allows a LAN address without tokens: everyone on that network may start motors. Default false.'),
      ),
      false,
    ),
    allowed_origins: v.optional(
      v.pipe(
        v.array(
          v.pipe(v.string('must be a string'), v.regex(ORIGIN, 'must be an origin such as https://hmi.plant.local:8443 (scheme, host, port; no path)')),
          'must be a list of origins',
        ),
        v.description('Web pages (besides the gateway itself) whose scripts may open the WebSocket and send control writes.'),
      ),
      [],
    ),
    failed_attempts_per_min: v.optional(
      int(1, 1_000_000, 'Wrong tokens one remote address may send per minute (burst of the same size); then every request from it gets 429 for a while.'),
      10,
    ),
  },
  'unknown setting',
);

export type AuthConfig = v.InferOutput<typeof AuthSchema>;
export type TokenEntry = v.InferOutput<typeof TokenEntrySchema>;

/** Cross-entry rules for the loader: names and hashes are unique. */
export function authProblems(auth: AuthConfig): string[] {
  const problems: string[] = [];
  const names = new Map<string, number>();
  const hashes = new Map<string, number>();
  auth.tokens.forEach((t, i) => {
    const n = names.get(t.name);
    if (n !== undefined) problems.push(`auth.tokens[${i}].name: "${t.name}" is already used by auth.tokens[${n}]`);
    else names.set(t.name, i);
    const h = hashes.get(t.hash);
    if (h !== undefined) problems.push(`auth.tokens[${i}].hash: the same token is already declared by auth.tokens[${h}]; create a new one`);
    else hashes.set(t.hash, i);
  });
  return problems;
}
