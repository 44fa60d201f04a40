/**
 * The ISA-18.2 alarm state machine, pure: a record and an input give the next record and the
 * transition, or a refusal. No clock, no timers, no I/O (the table around it has those), so
 * every arrow of the standard's diagram is a unit test.
 *
 *            raise (ack required)           ack
 *   normal ----------------------> active_unack ----------> active_ack
 *     ^  ^                          |      ^                    |
 *     |  |           clear          |      | raise              | clear
 *     |  |                          v      |                    |
 *     |  +-------- ack -------- rtn_unack -+                    |
 *     +---------------------------------------------------------+
 *
 * An alarm that does not require acknowledgement goes normal <-> active_ack.
 * Shelve (operator, for a time) and out of service (admin) take an alarm out of any state; the
 * condition is still followed underneath. Unshelve, shelve expiry and return to service bring
 * it back as the condition is then: active -> active_unack (it is annunciated afresh), else
 * normal. A shelved alarm may be taken out of service; an alarm out of service cannot be shelved.
 */
import type { AlarmState, AlarmTransition } from '../protocol/alarms.js';

export interface MachineRecord {
  /** The condition as last evaluated (a limit crossed, the device offline, ...). */
  active: boolean;
  /** Acknowledged since it last became active (true while normal). */
  acked: boolean;
  shelved: boolean;
  outOfService: boolean;
}

export type MachineInput =
  | { kind: 'condition'; active: boolean }
  | { kind: 'ack' }
  | { kind: 'shelve' }
  | { kind: 'unshelve'; expired: boolean }
  | { kind: 'out_of_service' }
  | { kind: 'return_to_service' };

export type MachineResult =
  | { ok: true; record: MachineRecord; transition: AlarmTransition | null; from: AlarmState; to: AlarmState }
  | { ok: false; reason: string };

export const NORMAL: MachineRecord = Object.freeze({ active: false, acked: true, shelved: false, outOfService: false });

export function stateOf(r: MachineRecord): AlarmState {
  if (r.outOfService) return 'out_of_service';
  if (r.shelved) return 'shelved';
  if (r.active) return r.acked ? 'active_ack' : 'active_unack';
  return r.acked ? 'normal' : 'rtn_unack';
}

/**
 * Applies one input. A condition input always succeeds (an unchanged condition gives transition
 * null); operator inputs are refused, with the reason, in a state where they mean nothing.
 */
export function step(r: MachineRecord, input: MachineInput, ackRequired: boolean): MachineResult {
  const from = stateOf(r);
  const done = (record: MachineRecord, transition: AlarmTransition | null): MachineResult => ({ ok: true, record, transition, from, to: stateOf(record) });
  const suppressed = r.shelved || r.outOfService;
  switch (input.kind) {
    case 'condition': {
      if (input.active === r.active) return done(r, null);
      // Shelved or out of service: follow the condition silently, annunciate nothing.
      if (suppressed) return done({ ...r, active: input.active, acked: true }, null);
      if (input.active) return done({ ...r, active: true, acked: !ackRequired }, 'raise');
      // Returning to normal keeps an outstanding acknowledgement outstanding (rtn_unack).
      return done({ ...r, active: false }, 'clear');
    }
    case 'ack':
      if (suppressed) return { ok: false, reason: `it is ${from.replace(/_/g, ' ')}` };
      if (r.acked) return { ok: false, reason: r.active ? 'it is already acknowledged' : 'it is normal' };
      return done({ ...r, acked: true }, 'ack');
    case 'shelve':
      if (r.outOfService) return { ok: false, reason: 'it is out of service' };
      if (r.shelved) return { ok: false, reason: 'it is already shelved' };
      return done({ ...r, shelved: true, acked: true }, 'shelve');
    case 'unshelve':
      if (!r.shelved) return { ok: false, reason: 'it is not shelved' };
      return done(returned({ ...r, shelved: false }, ackRequired), input.expired ? 'shelve_expired' : 'unshelve');
    case 'out_of_service':
      if (r.outOfService) return { ok: false, reason: 'it is already out of service' };
      return done({ ...r, outOfService: true, shelved: false, acked: true }, 'out_of_service');
    case 'return_to_service':
      if (!r.outOfService) return { ok: false, reason: 'it is in service' };
      return done(returned({ ...r, outOfService: false }, ackRequired), 'return_to_service');
  }
}

/** Back from shelved or out of service: an active condition is annunciated again. */
function returned(r: MachineRecord, ackRequired: boolean): MachineRecord {
  return { ...r, acked: r.active ? !ackRequired : true };
}
