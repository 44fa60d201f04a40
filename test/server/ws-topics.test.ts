import { describe, expect, it } from 'vitest';
import { DeviceTopics, SHARED_TOPIC_PREFIX } from '../../src/server/ws-topics.js';
import { isDeviceId } from '../../src/protocol/names.js';

describe('DeviceTopics', () => {
  it('connections made while the device list stays the same share one topic, whatever the order', () => {
    const topics = new DeviceTopics();
    const a = topics.sharedFor(['m1', 'm2', 's1']);
    expect(topics.sharedFor(['s1', 'm1', 'm2'])).toBe(a);
    expect(a.topic.startsWith(SHARED_TOPIC_PREFIX)).toBe(true);
    expect(isDeviceId(a.topic)).toBe(false);
    expect(topics.topicsOf('m1')).toEqual(['m1', a.topic]);
  });

  it('a device a reload adds goes only to the lists that hold it; a removed one stays in the older list', () => {
    const subscribers = new Map<string, number>();
    const topics = new DeviceTopics();
    topics.attach((t) => subscribers.get(t) ?? 0);
    const before = topics.sharedFor(['m1', 'm2']);
    subscribers.set(before.topic, 3);
    const after = topics.sharedFor(['m1', 'm3']);
    expect(after.topic).not.toBe(before.topic);
    expect(topics.topicsOf('m3')).toEqual(['m3', after.topic]);
    expect(topics.topicsOf('m2')).toEqual(['m2', before.topic]);
    expect(topics.topicsOf('m1')).toEqual(['m1', before.topic, after.topic]);
  });

  it('forgets an older list once no socket is on it, when the list changes again', () => {
    const subscribers = new Map<string, number>();
    const topics = new DeviceTopics();
    topics.attach((t) => subscribers.get(t) ?? 0);
    const first = topics.sharedFor(['m1']);
    subscribers.set(first.topic, 1);
    const second = topics.sharedFor(['m1', 'm2']);
    subscribers.set(second.topic, 1);
    subscribers.set(first.topic, 0);
    expect(topics.topicsOf('m1')).toEqual(['m1', first.topic, second.topic]);
    const third = topics.sharedFor(['m2']);
    expect(topics.topicsOf('m1')).toEqual(['m1', second.topic]);
    expect(topics.topicsOf('m2')).toEqual(['m2', second.topic, third.topic]);
  });
});
