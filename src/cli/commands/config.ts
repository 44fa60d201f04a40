import type { Command } from 'commander';
import { loadConfigFile } from '../../config/load.js';
import { configJsonSchema } from '../../config/jsonschema.js';
import { print } from '../output.js';
import type { GlobalOptions } from '../options.js';

export function registerConfigCommands(program: Command, globals: () => GlobalOptions): void {
  const config = program.command('config').description('check and describe configuration files');
  config
    .command('check')
    .description('validate a configuration file; prints every problem with its path and exits 78 if any')
    .argument('<file>', 'configuration file (YAML)')
    .action((file: string) => {
      const cfg = loadConfigFile(file);
      if (globals().json) print(JSON.stringify({ ok: true, file, devices: cfg.devices.length }));
      else print(`${file}: ok (${cfg.devices.length} device${cfg.devices.length === 1 ? '' : 's'})`);
    });
  config
    .command('schema')
    .description('print the JSON Schema of the configuration (config/gateway.schema.json)')
    .action(() => print(JSON.stringify(configJsonSchema(), null, 2)));
}
