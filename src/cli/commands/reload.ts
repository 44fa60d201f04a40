/**
 * `mgw reload`: asks the running gateway to re-read its configuration file (the REST face of
 * `systemctl reload machine-gateway`, which sends SIGHUP). A broken file is refused with every
 * problem listed, and the gateway keeps running on the previous configuration.
 */
import type { Command } from 'commander';
import { api } from '../api.js';
import type { GlobalOptions } from '../options.js';
import type { ReloadOutcome } from '../../protocol/wire.js';

export function registerReload(program: Command, globals: () => GlobalOptions): void {
  program
    .command('reload')
    .description('re-read and apply the configuration file of the running gateway (changed devices restart; some settings need a restart)')
    .action(async () => {
      const g = globals();
      const r = await api<Extract<ReloadOutcome, { ok: true }>>(g, 'POST', 'api/v1/admin/reload');
      if (g.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const parts = [
        ['restarted', r.drivers_restarted],
        ['started', r.drivers_started],
        ['stopped', r.drivers_stopped],
      ].filter(([, list]) => (list as string[]).length > 0);
      const lines = [`reloaded ${r.file}`];
      lines.push(parts.length === 0 ? '  drivers: unchanged' : `  drivers: ${parts.map(([k, list]) => `${k} ${(list as string[]).join(', ')}`).join('; ')}`);
      if (r.devices_added.length > 0) lines.push(`  devices added: ${r.devices_added.join(', ')}`);
      if (r.devices_removed.length > 0) lines.push(`  devices removed: ${r.devices_removed.join(', ')}`);
      if (r.restart_required.length > 0) lines.push(`  changed but applied only after a restart: ${r.restart_required.join(', ')} (systemctl restart machine-gateway)`);
      for (const e of r.errors) lines.push(`  error: ${e}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
