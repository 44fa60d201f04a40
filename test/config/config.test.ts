import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { ConfigError, loadConfigFile, parseConfigText } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/jsonschema.js';
import { SIMULATOR_MODELS } from '../../drivers/simulator/config.js';

function problems(text: string): string[] {
  try {
    parseConfigText(text, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected the config to be refused');
}

describe('configuration', () => {
  it('ships a default config that runs the simulator with at least two motors and two sensors', () => {
    const cfg = loadConfigFile('config/gateway.yaml');
    const sims = cfg.devices.filter((d) => d.driver === 'simulator') as { model: string }[];
    expect(sims.filter((d) => d.model === 'motor').length).toBeGreaterThanOrEqual(2);
    expect(sims.filter((d) => d.model === 'sensor').length).toBeGreaterThanOrEqual(2);
    expect(cfg.server).toMatchObject({ host: '127.0.0.1', port: 8000, max_connections: 100, max_message_bytes: 1024, heartbeat_s: 30 });
  });

  it('accepts every example in config/examples', () => {
    for (const f of readdirSync('config/examples').filter((n) => n.endsWith('.yaml'))) {
      expect(() => loadConfigFile(`config/examples/${f}`), f).not.toThrow();
    }
  });

  it('fills defaults', () => {
    const cfg = parseConfigText('devices: [{id: m, driver: simulator, model: motor}]');
    expect(cfg.devices[0]).toMatchObject({ poll_interval_ms: 1000 });
    expect(cfg.registry.replay_size).toBe(200);
  });

  it('reports every problem at once, each with its path', () => {
    const found = problems(`
server: { port: 99999, colour: blue }
devices:
  - { id: m1, driver: simulator, model: motor }
  - { id: m2, driver: simulator, model: fan }
  - { id: m3, driver: simulator, model: motor, poll_interval_ms: 5 }
  - { id: s1, driver: simulator, model: sensor, extra: true }
`);
    expect(found).toEqual([
      'server.port: must be <= 65535',
      'server.colour: unknown setting',
      `devices[1].model: must be one of ${SIMULATOR_MODELS.join(', ')}`,
      'devices[2].poll_interval_ms: must be >= 10',
      'devices[3].extra: unknown setting',
    ]);
  });

  it('reports duplicate device ids with both places', () => {
    expect(problems('devices: [{id: a, driver: simulator, model: motor}, {id: a, driver: simulator, model: sensor}]')).toEqual([
      'devices[1].id: "a" is already used by devices[0]',
    ]);
  });

  it('reports YAML syntax errors with line and column', () => {
    const [p] = problems('devices:\n  - id: a\n    driver: [simulator\n');
    expect(p).toMatch(/^line \d+, column \d+: /);
  });

  it('refuses an empty file and a missing file with a clear reason', () => {
    expect(problems('')).toEqual(['the file is empty; it needs at least a `devices:` list']);
    expect(() => loadConfigFile('/nonexistent/gateway.yaml')).toThrow(/cannot read: no such file/);
  });

  it('keeps config/gateway.schema.json in step with the schema (regenerate: mgw config schema > config/gateway.schema.json)', () => {
    const committed = JSON.parse(readFileSync('config/gateway.schema.json', 'utf8')) as unknown;
    expect(committed).toEqual(configJsonSchema());
  });
});
