import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import { DRIVER_KINDS } from '../../drivers/kinds.js';
import { DeviceSchema } from '../../src/config/schema.js';

describe('driver kinds', () => {
  it('each descriptor names the driver its schema accepts, once', () => {
    const kinds = DRIVER_KINDS.map((k) => k.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    for (const k of DRIVER_KINDS) expect(k.schema.entries.driver.literal).toBe(k.kind);
  });

  it('builds the device union from the list, naming every kind when the driver is unknown', () => {
    const r = v.safeParse(DeviceSchema, { id: 'x', driver: 'profibus' });
    expect(r.success).toBe(false);
    expect(r.issues![0].message).toBe(`driver must be one of: ${DRIVER_KINDS.map((k) => k.kind).join(', ')}`);
    expect(v.parse(DeviceSchema, { id: 'sim_1', driver: 'simulator', model: 'motor' }).driver).toBe('simulator');
  });
});
