/**
 * A consumer of registry diffs: the WebSocket publisher, the history, the northbound MQTT
 * publisher, the alarm evaluator. Each is one file or folder behind this interface, wired in the
 * composition root (src/gateway.ts), and none keeps its own copy of device state: what it needs
 * beyond the diff it reads from the registry.
 *
 * Diffs arrive synchronously, in the tick of the change, for every device: value changes,
 * quality changes (`diff.quality`) and reachability (`new_state.online`, action `status`).
 * `onDiff` must not throw or wait: a consumer with I/O to do queues it.
 */
import type { DeviceDiff } from './registry.js';

export interface ConsumerHealth {
  /** False while the consumer cannot do its job (its broker is unreachable, its file cannot be written). */
  ok: boolean;
  /** Why not, for /readyz, `mgw status` and the systemd STATUS line. */
  reason?: string;
  /** Counters for /metrics (queued, forwarded, dropped, ...). */
  counters?: Record<string, number>;
}

export interface DiffConsumer {
  /** Short and unique: `history`, `mqtt`, `alarms`. */
  readonly name: string;
  /** Called once the registry holds every device and before drivers start reporting. */
  start(): Promise<void>;
  /** Called after the drivers stopped: flush what is queued. */
  stop(): Promise<void>;
  onDiff(diff: DeviceDiff): void;
  /** A device a reload removed: forget what is kept for it. */
  forget?(deviceId: string): void;
  /** A reload is applied (devices, points and alarms as the new config has them). */
  reloaded?(): void;
  health?(): ConsumerHealth;
}
