/**
 * The alarm banner in the page header: the count per priority (shape, number and word), the
 * newest unacknowledged alarm, flashing only while something is unacknowledged, a link to the
 * list, and the sound toggle (off by default, remembered per browser).
 */
import { compareAlarms, isUnacked, type AlarmEvent, type AlarmView } from '../protocol/alarms.js';
import { ALARM_PRIORITIES } from '../protocol/alarms.js';
import { h, setAttr, setText } from './dom.js';
import { PRIORITY_ICON, PRIORITY_WORD, STATE_WORD, timeOf } from './alarm-look.js';

const SOUND_KEY = 'mgw.alarm-sound';

export class AlarmBanner {
  readonly el: HTMLElement;
  private readonly counts = new Map<string, HTMLElement>();
  private readonly newest: HTMLElement;
  private readonly sound: HTMLButtonElement;
  private audio: AudioContext | undefined;

  constructor() {
    const chips = ALARM_PRIORITIES.map((p) => {
      const n = h('b', {}, '0');
      this.counts.set(p, n);
      return h('span', { class: 'ab-chip', 'data-priority': p, title: `${PRIORITY_WORD[p]} alarms` }, h('span', { 'aria-hidden': 'true' }, PRIORITY_ICON[p]), n, h('span', { class: 'ab-word' }, PRIORITY_WORD[p]));
    });
    this.newest = h('span', { class: 'ab-newest' });
    this.sound = h('button', { type: 'button', class: 'btn small ab-sound', id: 'alarm-sound', 'aria-pressed': 'false' });
    this.sound.addEventListener('click', () => this.toggleSound());
    this.el = h(
      'div',
      { class: 'alarm-banner', id: 'alarm-banner', role: 'status', 'aria-live': 'polite', 'data-unacked': 'false' },
      h('a', { class: 'ab-counts', href: '#alarms', id: 'alarm-link', title: 'Open the alarm list' }, h('span', { class: 'ab-title' }, 'Alarms'), ...chips),
      this.newest,
      this.sound,
    );
    this.showSound();
  }

  /** Each new unacknowledged alarm sounds (when the sound is on), even inside a burst. */
  announce(event: AlarmEvent): void {
    if (event.transition === 'raise' && !event.acked && this.soundOn()) this.beep(event.priority === 'critical' ? 880 : 660);
  }

  update(list: readonly AlarmView[]): void {
    const shown = list.filter((a) => a.state !== 'shelved' && a.state !== 'out_of_service');
    for (const p of ALARM_PRIORITIES) setText(this.counts.get(p)!, String(shown.filter((a) => a.priority === p).length));
    const unacked = shown.filter(isUnacked);
    // The newest unacknowledged one; with none, the most important standing one, not flashing.
    const top = [...unacked].sort((a, b) => (b.active_since ?? b.last_change) - (a.active_since ?? a.last_change))[0] ?? [...shown].sort(compareAlarms)[0];
    setText(this.newest, top === undefined ? 'No alarms' : `${PRIORITY_ICON[top.priority]} ${top.message} · ${timeOf(top.active_since ?? top.last_change)} · ${STATE_WORD[top.state]}`);
    setAttr(this.newest, 'data-priority', top?.priority ?? null);
    setAttr(this.el, 'data-unacked', String(unacked.length > 0));
    setAttr(this.el, 'data-count', String(shown.length));
  }

  private soundOn(): boolean {
    try {
      return localStorage.getItem(SOUND_KEY) === 'on';
    } catch {
      return false;
    }
  }

  private toggleSound(): void {
    const on = !this.soundOn();
    try {
      localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
    } catch {
      // a browser without storage: the toggle lasts this page only
    }
    this.showSound();
    if (on) this.beep(660);
  }

  private showSound(): void {
    const on = this.soundOn();
    setText(this.sound, on ? '♪ Sound on' : '♪ Sound off');
    setAttr(this.sound, 'aria-pressed', String(on));
  }

  /** A short tone; the AudioContext is made on the first click (browsers allow sound only after one). */
  private beep(hz: number): void {
    try {
      this.audio ??= new AudioContext();
      const osc = this.audio.createOscillator();
      const gain = this.audio.createGain();
      osc.frequency.value = hz;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(this.audio.destination);
      osc.start();
      osc.stop(this.audio.currentTime + 0.25);
    } catch {
      // no audio device: the banner still flashes
    }
  }
}
