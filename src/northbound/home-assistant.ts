/**
 * Home Assistant MQTT discovery for the JSON mode: one retained config message per point, so
 * devices show up in Home Assistant by themselves, reading the retained `<prefix>/<device>/state`.
 * A point that is not good (stale, bad) renders as unknown, and a device that is offline, or a
 * gateway that is gone (the status Will), as unavailable: Home Assistant never shows an old value
 * as current.
 */
import type { PointMeta } from '../core/points.js';
import type { Registry } from '../core/registry.js';
import type { OutMessage } from './link.js';

export interface DiscoveryOptions {
  /** Home Assistant's discovery prefix (its default: homeassistant). */
  discoveryPrefix: string;
  /** The JSON mode's topic prefix. */
  prefix: string;
  registry: Registry;
  /** Only these devices (default: all). */
  ids?: readonly string[];
}

/** Discovery ids allow letters, digits, "_" and "-". */
function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function discoveryMessages(o: DiscoveryOptions): OutMessage[] {
  const out: OutMessage[] = [];
  const node = slug(o.prefix);
  for (const id of o.ids ?? o.registry.ids()) {
    const desc = o.registry.descriptor(id);
    if (desc === undefined) continue;
    for (const [point, meta] of Object.entries(desc.points)) {
      const component = meta.type === 'boolean' ? 'binary_sensor' : 'sensor';
      const object = `${slug(id)}_${slug(point)}`;
      out.push({
        topic: `${o.discoveryPrefix}/${component}/${node}/${object}/config`,
        payload: JSON.stringify(config(o, id, desc.name, desc.device_type, point, meta)),
        qos: 1,
        retain: true,
      });
    }
  }
  return out;
}

function config(o: DiscoveryOptions, id: string, name: string, deviceType: string, point: string, meta: PointMeta): Record<string, unknown> {
  const key = JSON.stringify(point);
  const good = `value_json.quality[${key}] == 'good'`;
  const value = `value_json.state[${key}]`;
  const c: Record<string, unknown> = {
    name: point,
    unique_id: `mgw_${slug(o.prefix)}_${slug(id)}_${slug(point)}`,
    object_id: `${slug(id)}_${slug(point)}`,
    state_topic: `${o.prefix}/${id}/state`,
    availability: [
      { topic: `${o.prefix}/status`, payload_available: 'online', payload_not_available: 'offline' },
      { topic: `${o.prefix}/${id}/state`, value_template: "{{ 'online' if value_json.online else 'offline' }}" },
    ],
    availability_mode: 'all',
    device: { identifiers: [`mgw_${slug(o.prefix)}_${slug(id)}`], name, model: deviceType, manufacturer: 'machine-gateway' },
  };
  if (meta.type === 'boolean') c['value_template'] = `{{ ('ON' if ${value} else 'OFF') if ${good} else None }}`;
  else c['value_template'] = `{{ ${value} if ${good} else None }}`;
  if (meta.unit !== undefined) c['unit_of_measurement'] = meta.unit;
  if (meta.type === 'number' || meta.type === 'integer') c['state_class'] = 'measurement';
  if (meta.description !== undefined) c['json_attributes_template'] = JSON.stringify({ description: meta.description });
  return c;
}
