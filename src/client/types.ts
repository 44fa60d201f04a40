/** The wire shapes, kept once in src/protocol so the server, this client, the CLI and the HMI share them. */
export type * from '../protocol/wire.js';
