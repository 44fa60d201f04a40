/**
 * Every arrow of the ISA-18.2 alarm state diagram, on the pure machine.
 */
import { describe, expect, test } from 'vitest';
import { NORMAL, stateOf, step, type MachineInput, type MachineRecord } from '../../src/alarms/machine.js';
import type { AlarmState } from '../../src/protocol/alarms.js';

function run(inputs: MachineInput[], ackRequired = true): { state: AlarmState; transitions: (string | null)[]; record: MachineRecord } {
  let r: MachineRecord = NORMAL;
  const transitions: (string | null)[] = [];
  for (const i of inputs) {
    const res = step(r, i, ackRequired);
    if (!res.ok) throw new Error(res.reason);
    r = res.record;
    transitions.push(res.transition);
  }
  return { state: stateOf(r), transitions, record: r };
}

const raise: MachineInput = { kind: 'condition', active: true };
const clear: MachineInput = { kind: 'condition', active: false };
const ack: MachineInput = { kind: 'ack' };

describe('ISA-18.2 transitions', () => {
  test('A -> B: normal raises to active unacknowledged', () => {
    expect(run([raise])).toMatchObject({ state: 'active_unack', transitions: ['raise'] });
  });
  test('B -> C: acknowledging an active alarm', () => {
    expect(run([raise, ack])).toMatchObject({ state: 'active_ack', transitions: ['raise', 'ack'] });
  });
  test('C -> A: an acknowledged alarm returns to normal', () => {
    expect(run([raise, ack, clear])).toMatchObject({ state: 'normal', transitions: ['raise', 'ack', 'clear'] });
  });
  test('B -> D: returning to normal before acknowledgement stays unacknowledged', () => {
    expect(run([raise, clear])).toMatchObject({ state: 'rtn_unack', transitions: ['raise', 'clear'] });
  });
  test('D -> A: acknowledging a returned alarm makes it normal', () => {
    expect(run([raise, clear, ack])).toMatchObject({ state: 'normal', transitions: ['raise', 'clear', 'ack'] });
  });
  test('D -> B: a returned, unacknowledged alarm that comes back is active unacknowledged again', () => {
    expect(run([raise, clear, raise])).toMatchObject({ state: 'active_unack', transitions: ['raise', 'clear', 'raise'] });
  });
  test('an unchanged condition is no transition', () => {
    expect(run([raise, raise]).transitions).toEqual(['raise', null]);
  });
  test('an alarm that needs no acknowledgement goes normal <-> active acknowledged', () => {
    expect(run([raise], false).state).toBe('active_ack');
    expect(run([raise, clear], false).state).toBe('normal');
  });

  test('shelve from every annunciated state; unshelve returns as the condition is', () => {
    for (const before of [[], [raise], [raise, ack], [raise, clear]] as MachineInput[][]) {
      const shelved = run([...before, { kind: 'shelve' }]);
      expect(shelved.state).toBe('shelved');
    }
    // Condition active when unshelved: annunciated afresh.
    expect(run([raise, ack, { kind: 'shelve' }, { kind: 'unshelve', expired: false }]).state).toBe('active_unack');
    // Condition gone when unshelved: normal, nothing to acknowledge.
    expect(run([raise, { kind: 'shelve' }, clear, { kind: 'unshelve', expired: false }]).state).toBe('normal');
  });

  test('shelve expiry is its own transition and brings back an alarm that rose while shelved', () => {
    const r = run([{ kind: 'shelve' }, raise, { kind: 'unshelve', expired: true }]);
    expect(r.transitions).toEqual(['shelve', null, 'shelve_expired']);
    expect(r.state).toBe('active_unack');
  });

  test('a shelved alarm follows its condition silently', () => {
    const r = run([{ kind: 'shelve' }, raise, clear, raise]);
    expect(r.transitions).toEqual(['shelve', null, null, null]);
    expect(r.state).toBe('shelved');
    expect(r.record.active).toBe(true);
  });

  test('out of service from any state, return to service as the condition is', () => {
    expect(run([raise, { kind: 'out_of_service' }]).state).toBe('out_of_service');
    expect(run([{ kind: 'shelve' }, { kind: 'out_of_service' }]).state).toBe('out_of_service');
    expect(run([raise, { kind: 'out_of_service' }, { kind: 'return_to_service' }]).state).toBe('active_unack');
    expect(run([raise, { kind: 'out_of_service' }, clear, { kind: 'return_to_service' }]).state).toBe('normal');
  });

  test('actions that mean nothing in a state are refused with the reason', () => {
    expect(step(NORMAL, ack, true)).toEqual({ ok: false, reason: 'it is normal' });
    expect(step(run([raise, ack]).record, ack, true)).toEqual({ ok: false, reason: 'it is already acknowledged' });
    expect(step(run([{ kind: 'shelve' }]).record, ack, true)).toEqual({ ok: false, reason: 'it is shelved' });
    expect(step(run([{ kind: 'shelve' }]).record, { kind: 'shelve' }, true)).toEqual({ ok: false, reason: 'it is already shelved' });
    expect(step(NORMAL, { kind: 'unshelve', expired: false }, true)).toEqual({ ok: false, reason: 'it is not shelved' });
    expect(step(run([{ kind: 'out_of_service' }]).record, { kind: 'shelve' }, true)).toEqual({ ok: false, reason: 'it is out of service' });
    expect(step(NORMAL, { kind: 'return_to_service' }, true)).toEqual({ ok: false, reason: 'it is in service' });
  });
});
