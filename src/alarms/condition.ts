/**
 * Whether an alarm's condition is present for a good value, with hysteresis. Pure.
 *
 * hi / hihi: raised at value >= limit; once raised, it holds until value < limit - deadband.
 * lo / lolo: raised at value <= limit; once raised, it holds until value > limit + deadband.
 * discrete:  present while the value equals the configured one (a fault bit, one fault code).
 * A value of another type (null, a string on a numeric point) is no condition.
 */
import type { PointValue } from '../core/points.js';
import type { AlarmDefinition } from './definitions.js';

export function valueCondition(def: AlarmDefinition, value: PointValue, wasActive: boolean): boolean {
  switch (def.kind) {
    case 'hi':
    case 'hihi': {
      if (typeof value !== 'number' || typeof def.limit !== 'number') return false;
      return wasActive ? value > def.limit - def.deadband : value >= def.limit;
    }
    case 'lo':
    case 'lolo': {
      if (typeof value !== 'number' || typeof def.limit !== 'number') return false;
      return wasActive ? value < def.limit + def.deadband : value <= def.limit;
    }
    case 'discrete':
      return Object.is(value, def.limit);
    case 'quality':
    case 'offline':
      // Not a function of the value: the evaluator feeds these from quality and reachability.
      return wasActive;
  }
}
