/**
 * The alarms on the page: the feed, the banner in the header, the list page (`#alarms`, in
 * place of the device board) and the alarm state on each card's point (shape and letters,
 * coloured by priority). main.ts creates it after sign-in, hands it the page's one WebSocket
 * client (follow()) and calls markCards() for new cards.
 */
import { PRIORITY_RANK, type AlarmEvent, type AlarmView } from '../protocol/alarms.js';
import { h, setAttr, setText } from './dom.js';
import { AlarmApi } from './alarm-api.js';
import { AlarmBanner } from './alarm-banner.js';
import { AlarmFeed, type TopicConnection } from './alarm-feed.js';
import { AlarmList } from './alarm-list.js';
import { PRIORITY_ICON, PRIORITY_WORD, STATE_WORD, kindWord } from './alarm-look.js';

/** Longest delay between an alarm event and the page showing it (ms). */
const REDRAW_MS = 100;

export interface AlarmPanelOptions {
  token: string | null;
  canWrite: boolean;
  /** May take alarms out of service. */
  admin: boolean;
  /** The page header: the banner goes into it. */
  header: HTMLElement;
  /** The device board: hidden while the list is shown, and where the cards are marked. */
  board: HTMLElement;
  /** After every change of the list (the overview shows each device's worst alarm). */
  onAlarms?: (alarms: AlarmView[]) => void;
}

export class AlarmPanel {
  private readonly feed: AlarmFeed;
  private readonly banner = new AlarmBanner();
  private readonly list: AlarmList;
  private marked = new Set<Element>();
  private redraw: number | undefined;
  private journalStale = false;

  constructor(private readonly options: AlarmPanelOptions) {
    this.list = new AlarmList({ api: new AlarmApi(options.token), canWrite: options.canWrite, admin: options.admin });
    options.header.append(this.banner.el);
    options.board.after(this.list.el);
    this.feed = new AlarmFeed({ onChange: (e) => this.changed(e) });
    window.addEventListener('hashchange', () => this.route());
    this.route();
  }

  /** Follows the alarms on the page's WebSocket (the device client), before it starts. */
  follow(connection: TopicConnection): void {
    this.feed.attach(connection);
  }

  /** Puts the alarm state on the points of the cards on the board (call after adding cards). */
  markCards(): void {
    const byPoint = new Map<string, AlarmView>();
    for (const a of this.feed.alarms.values()) {
      if (a.point === null || a.state === 'normal') continue;
      const key = `${a.device_id}\n${a.point}`;
      const had = byPoint.get(key);
      if (had === undefined || PRIORITY_RANK[a.priority] < PRIORITY_RANK[had.priority]) byPoint.set(key, a);
    }
    const next = new Set<Element>();
    for (const [key, a] of byPoint) {
      const [device, point] = key.split('\n') as [string, string];
      const row = this.options.board.querySelector(`[data-device="${CSS.escape(device)}"] [data-point="${CSS.escape(point)}"]`);
      if (row === null) continue;
      next.add(row);
      let mark = row.querySelector<HTMLElement>('.alarm-mark');
      if (mark === null) {
        mark = h('span', { class: 'alarm-mark' });
        row.querySelector('.pl')?.append(mark);
      }
      setText(mark, `${PRIORITY_ICON[a.priority]} ${kindWord(a)}`);
      mark.title = `${PRIORITY_WORD[a.priority]} alarm: ${a.message} (${STATE_WORD[a.state]})`;
      setAttr(row, 'data-alarm', a.priority);
      setAttr(row, 'data-alarm-state', a.state);
    }
    for (const row of this.marked) {
      if (next.has(row)) continue;
      row.querySelector('.alarm-mark')?.remove();
      setAttr(row, 'data-alarm', null);
      setAttr(row, 'data-alarm-state', null);
    }
    this.marked = next;
  }

  /**
   * A flood brings hundreds of events in a burst: redrawing the list for each would cost
   * hundreds of list renders. The sound follows each event; the drawing is coalesced to one
   * pass per REDRAW_MS (a timer, not an animation frame: a panel in a background tab still updates).
   */
  private changed(event: AlarmEvent | undefined): void {
    if (event !== undefined) this.banner.announce(event);
    if (event !== undefined) this.journalStale = true;
    if (this.redraw !== undefined) return;
    this.redraw = window.setTimeout(() => {
      this.redraw = undefined;
      const all = this.feed.list();
      this.banner.update(all);
      this.list.update(all, this.journalStale);
      this.journalStale = false;
      this.markCards();
      this.options.onAlarms?.(all);
    }, REDRAW_MS);
  }

  /**
   * `#alarms` shows the list in place of the board. Leaving it, the page's own routing (which
   * runs first: it listened first) has already set the board for the new hash (the board, or a
   * device's detail view over it), so the board is left alone then.
   */
  private route(): void {
    const showList = location.hash === '#alarms';
    this.list.el.hidden = !showList;
    if (showList) this.options.board.hidden = true;
  }
}
