/** The `northbound:` section: off by default, every error with its path, a change needs a restart. */
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/load.js';
import { settingsNeedingRestart } from '../../src/config/diff.js';

const devices = [{ id: 'm1', driver: 'simulator', model: 'motor' }];

function problems(northbound: unknown): string[] {
  try {
    validateConfig({ devices, northbound });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('northbound config', () => {
  it('is off by default', () => {
    expect(validateConfig({ devices }).northbound.enabled).toBe(false);
  });

  it('names the path of every mistake', () => {
    expect(problems({ enabled: true, mode: 'sparkplug', mqtt: { url: 'http://broker' } })).toEqual([
      'northbound.mqtt.url: must be mqtt://host:port or mqtts://host:port (TLS)',
    ]);
    expect(problems({ enabled: true, mode: 'sparkplug', mqtt: { url: 'mqtt://b:1883' } })).toEqual(['northbound.sparkplug: is required in mode sparkplug (group_id, edge_node_id)']);
    expect(problems({ enabled: true })).toEqual(['northbound.mqtt: is required when northbound.enabled is true (at least url)']);
    expect(problems({ enabled: true, mode: 'sparkplug', mqtt: { url: 'mqtt://b' }, sparkplug: { group_id: 'a/b', edge_node_id: 'x#' } })).toEqual([
      'northbound.sparkplug.group_id: must be 1-64 characters without "/", "#" or "+"',
      'northbound.sparkplug.edge_node_id: must be 1-64 characters without "/", "#" or "+"',
    ]);
    expect(problems({ enabled: true, mqtt: { url: 'mqtt://b', ca_file: '/ca.pem', password_file: '/p', reconnect_min_ms: 5000, reconnect_max_ms: 1000 } })).toEqual([
      'northbound.mqtt.reconnect_max_ms: must be >= reconnect_min_ms (5000)',
      'northbound.mqtt.username: is required with password_file',
      'northbound.mqtt.url: ca_file and cert_file need a TLS url (mqtts://)',
    ]);
    expect(problems({ mode: 'kafka', store: { max_bytes: 10, surprise: 1 }, json: { prefix: '/x/' }, commands: { role: 'root' } })).toEqual([
      'northbound.mode: must be sparkplug or json',
      'northbound.json.prefix: must not start or end with "/" nor have empty levels',
      'northbound.store.max_bytes: must be >= 65536',
      'northbound.store.surprise: unknown setting',
      'northbound.commands.role: must be one of viewer, operator, admin',
    ]);
  });

  it('a change takes effect on restart, and a reload says so', () => {
    const a = validateConfig({ devices, northbound: { enabled: true, mqtt: { url: 'mqtt://a:1883' } } });
    const b = validateConfig({ devices, northbound: { enabled: true, mqtt: { url: 'mqtt://b:1883' } } });
    expect(settingsNeedingRestart(a, b)).toEqual(['northbound.mqtt']);
  });
});
