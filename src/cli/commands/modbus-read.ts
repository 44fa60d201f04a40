/** `mgw modbus read`: registers or bits, hex and decoded values side by side; `--watch` to follow them. */
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { print } from '../output.js';
import type { GlobalOptions } from '../options.js';
import { addBlockOptions, header, parseBlock, readJson, rowsTable, type BlockFlags } from './modbus-block.js';
import { connect } from './modbus-connect.js';
import { checkBlock, readBlock, type BlockRequest } from './modbus-io.js';
import type { CommissioningLink } from './modbus-link.js';
import { addLinkOptions, intOption, parseTarget } from './modbus-options.js';
import { isoTime } from '../../core/time.js';

export function registerModbusRead(modbus: Command, globals: () => GlobalOptions): void {
  const read = modbus
    .command('read')
    .description('read registers or bits and show hex and decoded values side by side')
    .option('-u, --unit <id>', 'unit id (slave address) 1-247', '1');
  addBlockOptions(addLinkOptions(read, { timeoutMs: 300, tries: 3 }))
    .option('-c, --count <n>', 'number of values to read (of --type)', '1')
    .option('-w, --watch <ms>', 'read again every <ms> milliseconds until Ctrl-C')
    .option('--samples <n>', 'with --watch: stop after n reads')
    .action(async (f: BlockFlags & { count: string; watch?: string; samples?: string }) => {
      const g = globals();
      const target = parseTarget(f);
      const block = parseBlock(f, target, intOption('--count', f.count, 1, 2000));
      checkBlock(block);
      const watchMs = f.watch === undefined ? undefined : intOption('--watch', f.watch, 10, 3_600_000, 'ms');
      const samples = f.samples === undefined ? undefined : intOption('--samples', f.samples, 1, 1_000_000);
      const conn = await connect(target, g);
      try {
        if (watchMs === undefined) {
          const rows = await readBlock(conn, block);
          print(g.json ? JSON.stringify(readJson(block, conn.label, rows)) : `${header(block, conn.label)}\n${rowsTable(block, rows)}`);
          return;
        }
        await watchLoop(conn, block, g.json, watchMs, samples);
      } finally {
        await conn.stop();
      }
    });
}

/**
 * `--watch`: a TTY gets the table redrawn in place; a pipe gets one block per sample with a time
 * stamp (or one JSON object per line with --json). A missed answer is reported and the loop goes on.
 */
async function watchLoop(conn: CommissioningLink, b: BlockRequest, json: boolean, everyMs: number, samples: number | undefined): Promise<void> {
  const tty = Boolean(process.stdout.isTTY) && !json;
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = () => {
    stop = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let drawn = 0;
  let failed = 0;
  let lastError: CliError | undefined;
  let taken = 0;
  try {
    if (!json) print(header(b, conn.label));
    for (let n = 0; !stop && (samples === undefined || n < samples); n++) {
      taken = n + 1;
      const t0 = Date.now();
      const at = isoTime(t0);
      try {
        const rows = await readBlock(conn, b);
        if (json) print(JSON.stringify({ at, ...readJson(b, conn.label, rows) }));
        else {
          const text = `${at}\n${rowsTable(b, rows)}`;
          if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
          print(text);
          drawn = tty ? text.split('\n').length : 0;
        }
        lastError = undefined;
      } catch (err) {
        if (!(err instanceof CliError) || err.exitCode === EXIT.unavailable || err.exitCode === EXIT.software) throw err;
        if (json) print(JSON.stringify({ at, error: err.message, exit_code: err.exitCode }));
        else process.stderr.write(`${at} mgw: ${err.message}\n`);
        drawn = 0;
        failed++;
        lastError = err;
      }
      if (samples !== undefined && n + 1 >= samples) break;
      const wait = Math.max(0, everyMs - (Date.now() - t0));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // A script that asked for n samples learns from the status whether the last one worked.
  if (!stop && lastError !== undefined) {
    throw new CliError(`${failed} of ${taken} reads failed; the last one: ${lastError.message}`, lastError.exitCode);
  }
}
