/**
 * Which topics carry a device's diffs to a socket. A connection that follows every device (the
 * default: no `?devices=`) joins one topic it shares with every connection made while the
 * device list was the same, `$devices.<n>`, instead of one topic per device.
 *
 * Why: uWS 20.30 spends about 500 bytes of native memory on each subscription. A bare uWS server
 * with 100 sockets on 100 topics each measured 5 MiB more than with one topic each, so 100
 * HMIs on a 100-device gateway held ~5 MiB in subscriptions alone, growing with both.
 *
 * A diff goes to its device's topic and to each shared topic whose list holds the device. A
 * socket hears a device through one of them, never both (the subscribe paths keep it so), so
 * it hears each diff once and in order. A device a reload adds is in no older list: the
 * connections made before it do not hear it unless they subscribe, as with a topic per device.
 * A socket that unsubscribes from one device of its list leaves the shared topic for the topics
 * of the others.
 * The functions that move a socket between topics are in ws-subscribe.ts.
 */

/** Not a device id (those are letters, digits, `_`, `-`, `.`) nor the alarms' `$alarms`. */
export const SHARED_TOPIC_PREFIX = '$devices.';

export interface SharedTopic {
  readonly topic: string;
  readonly devices: ReadonlySet<string>;
}

export class DeviceTopics {
  /** Oldest first; the last is the one new connections join while the device list stays. */
  private readonly shared: SharedTopic[] = [];
  private next = 1;
  private subscribers: (topic: string) => number = () => 0;

  /** How many sockets a topic has, over every serving app (set when the server listens). */
  attach(subscribers: (topic: string) => number): void {
    this.subscribers = subscribers;
  }

  /** The shared topic of exactly these devices: the newest one, or a new one when the list changed. */
  sharedFor(ids: readonly string[]): SharedTopic {
    const newest = this.shared[this.shared.length - 1];
    if (newest !== undefined && newest.devices.size === ids.length && ids.every((id) => newest.devices.has(id))) return newest;
    // Older lists no socket is on any more are forgotten here, when a list changes.
    for (let i = this.shared.length - 1; i >= 0; i--) if (this.subscribers(this.shared[i]!.topic) === 0) this.shared.splice(i, 1);
    const topic: SharedTopic = { topic: `${SHARED_TOPIC_PREFIX}${this.next++}`, devices: new Set(ids) };
    this.shared.push(topic);
    return topic;
  }

  /** Every topic a diff of this device goes to: its own, then each shared list holding it. */
  topicsOf(deviceId: string): string[] {
    const out = [deviceId];
    for (const s of this.shared) if (s.devices.has(deviceId)) out.push(s.topic);
    return out;
  }
}
