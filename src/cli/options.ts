/**
 * The options every `mgw` command may read (`--url`, `--json`, `--token`). A leaf module: the
 * commands import it, and main.ts, which loads the commands, declares the options with it.
 */
export interface GlobalOptions {
  url: string;
  json: boolean;
  token?: string | undefined;
}
