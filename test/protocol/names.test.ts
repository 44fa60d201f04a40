/**
 * The device-id and point-name rules are one rule: the configuration and the WebSocket parser
 * accept and refuse the same ids as the protocol module says.
 */
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { deviceId, pointNameRule } from '../../src/config/fields.js';
import { isDeviceId, isPointName } from '../../src/protocol/names.js';
import { parseClientMessage } from '../../src/server/protocol.js';

const IDS = ['motor_01', 'line-2.press', 'A', 'x'.repeat(64), '', 'x'.repeat(65), 'a b', 'motor/01', 'é', 'a?b'];
const POINTS = ['speed', '_raw', 'T2', 'x'.repeat(64), '', '2nd', 'a.b', 'a-b', 'x'.repeat(65)];

describe('device ids', () => {
  it.each(IDS)('%j: config, WebSocket parser and isDeviceId agree', (id) => {
    const inConfig = v.safeParse(deviceId, id).success;
    let onWire = true;
    try {
      parseClientMessage({ action: 'subscribe', devices: { [id]: null } });
    } catch {
      onWire = false;
    }
    expect(inConfig).toBe(isDeviceId(id));
    expect(onWire).toBe(isDeviceId(id));
  });

  it('accepts the plain ones and refuses the rest', () => {
    expect(IDS.filter(isDeviceId)).toEqual(['motor_01', 'line-2.press', 'A', 'x'.repeat(64)]);
  });
});

describe('point names', () => {
  it.each(POINTS)('%j: config and isPointName agree', (name) => {
    expect(v.safeParse(v.pipe(v.string(), pointNameRule), name).success).toBe(isPointName(name));
  });

  it('accepts identifiers of up to 64 characters only', () => {
    expect(POINTS.filter(isPointName)).toEqual(['speed', '_raw', 'T2', 'x'.repeat(64)]);
  });
});
