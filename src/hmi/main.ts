/**
 * The built-in HMI page: boots, signs in when the gateway wants a token, then shows every
 * device live through the typed client (which reconnects and resumes by itself).
 */
import { GatewayClient, GatewayClientError } from '../client/index.js';
import { Api, ApiError } from './api.js';
import { askToken, loadToken, saveToken } from './auth.js';
import { DeviceCard } from './card.js';
import { DevicePage, devicePageHash, devicePageId } from './device-page.js';
import { Kiosk } from './kiosk.js';
import { Theme } from './theme.js';
import { AlarmPanel } from './alarm-panel.js';
import { h, setText } from './dom.js';
import { formatClock, setTimeFormat } from './format.js';
import { Header, type PageLink } from './header.js';
import { HistoryLoader } from './history-loader.js';
import { Overview } from './overview.js';
import type { DeviceView, PointValue, WhoAmI } from './types.js';
import { mayAudit, mayWrite } from './types.js';

/** What the trends show, seconds. */
const TREND_WINDOW_S = 300;
/** How long "resynced" stays up after a reconnect before it reads plain "Live", ms. */
const RESYNCED_SHOWN_MS = 10_000;

class Page {
  private readonly header: Header;
  private readonly board: HTMLElement;
  private readonly notice: HTMLElement;
  private readonly cards = new Map<string, DeviceCard>();
  /** The open device page (`#/devices/<id>`, or `#/device/<id>`), if any. */
  private detail: DevicePage | undefined;
  private who: WhoAmI | undefined;
  private readonly kiosk = new Kiosk();
  private readonly theme = new Theme();
  private client: GatewayClient | undefined;
  private alarms: AlarmPanel | undefined;
  private api: Api;
  private canWrite = false;
  /** Gateway clock minus page clock, seconds: ages and trends use the gateway's time. */
  private clockOffsetS = 0;
  private resyncedTimer: number | undefined;
  private everConnected = false;
  /** The gateway's device list arrived once (a device page for an unknown id can say so). */
  private synced = false;
  private readonly overview: Overview;
  private readonly history: HistoryLoader;
  private historyTimer: number | undefined;
  /** The gateway time of the last update heard: a drop misses what came after it. */
  private lastHeard: number | undefined;
  /** Cards on screen: only they redraw ages and trends each second (a plant may have hundreds). */
  private readonly onScreen = new Set<Element>();
  private readonly visibility = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.isIntersecting) this.onScreen.add(e.target);
      else this.onScreen.delete(e.target);
    }
  });

  constructor(
    private readonly root: HTMLElement,
    private token: string | null,
  ) {
    this.api = new Api(token);
    this.header = new Header(() => this.applyFilter());
    this.header.signOut.addEventListener('click', () => {
      saveToken(null);
      location.reload();
    });
    this.notice = h('div', { class: 'notice', id: 'notice', role: 'alert', hidden: true });
    this.board = h('main', { class: 'board', id: 'board' });
    this.overview = new Overview({
      board: this.board,
      filterText: this.header.filterText,
      filterType: this.header.filterType,
      header: this.header.el,
      // A kiosk hides the filter box: a filter remembered from before would hide devices unseen.
      restoreFilter: !this.kiosk.on,
      refilter: () => this.applyFilter(),
      shown: () => this.wantHistory(),
    });
    this.history = new HistoryLoader({
      api: () => this.api,
      windowS: TREND_WINDOW_S,
      apply: (id, points) => {
        const card = this.cards.get(id);
        for (const [name, p] of Object.entries(points)) card?.seedTrend(name, p.t, p.v);
        card?.tick(this.now());
      },
      clock: (now) => (this.clockOffsetS = now - Date.now() / 1000),
    });
    // A kiosk shows neither the filter nor the sign-out and theme switch (body.kiosk [data-kiosk-hide]).
    this.header.el.querySelector('.filters')?.setAttribute('data-kiosk-hide', '');
    this.header.signOut.setAttribute('data-kiosk-hide', '');
    this.header.signOut.before(this.theme.select);
    root.replaceChildren(this.header.el, this.notice, this.overview.el, this.board);
    window.setInterval(() => this.tick(), 1000);
    window.addEventListener('hashchange', () => this.route());
  }

  /** `#/devices/<id>` (or `#/device/<id>`) opens a device's page instead of the board; anything else closes it. */
  private route(): void {
    const id = devicePageId(location.hash);
    if (this.detail !== undefined && this.detail.deviceId === id && (this.detail.ready || this.client?.device(id) === undefined)) return;
    this.detail?.el.remove();
    this.detail = undefined;
    this.board.hidden = id !== undefined;
    if (id === undefined || this.who === undefined) return;
    const canWrite = this.canWrite;
    this.detail = new DevicePage({
      deviceId: id,
      device: this.client?.device(id),
      api: this.api,
      canWrite,
      canAudit: mayAudit(this.who),
      role: this.who.role,
      now: () => this.now(),
      close: () => (location.hash = this.overview.homeHash()),
      write: (point) => (value) => this.write(id, point, value),
    });
    this.board.after(this.detail.el);
    if (this.detail.ready) this.detail.load();
    else if (this.synced) this.detail.missing();
  }

  async boot(): Promise<void> {
    let who: WhoAmI;
    for (;;) {
      try {
        who = await this.api.whoami();
        setTimeFormat(who.time_format);
        break;
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) {
          // A gateway without access control: everyone may do everything (it listens on loopback).
          who = { token: 'anonymous', role: 'admin', anonymous: true, auth_required: false };
          break;
        }
        if (err instanceof ApiError && err.status === 401) {
          saveToken(null);
          const why = this.token === null ? 'This gateway needs an access token.' : `The gateway refused the token: ${err.message}`;
          this.header.setLink('signin', '');
          this.token = await askToken(this.board, why);
          this.header.setLink('connecting', '');
          saveToken(this.token);
          this.api = new Api(this.token);
          continue;
        }
        this.say(`${(err as Error).message} Retrying…`);
        await new Promise((r) => setTimeout(r, 3000));
      }
    }
    this.say(null);
    this.who = who;
    this.canWrite = mayWrite(who);
    const who_ = who.auth_required ? `${who.token} · ${who.role}` : 'auth off';
    this.header.setRole(who_, this.canWrite, this.token !== null);
    this.alarms = new AlarmPanel({ token: this.token, canWrite: this.canWrite, admin: who.role === 'admin', header: this.header.el, board: this.board, onAlarms: (list) => this.overview.alarms(list) });
    this.startClient();
    this.route();
  }

  private startClient(): void {
    const client = new GatewayClient({
      url: location.origin,
      token: this.token ?? undefined,
      clientId: `hmi-${Math.random().toString(36).slice(2, 8)}`,
      // A panel should notice a dead link and a restarted gateway within seconds, not tens of seconds.
      heartbeatMs: 5000,
      backoff: { maxMs: 4000 },
    });
    this.client = client;
    this.alarms?.follow(client);
    client.on('connection', (c) => {
      if (c.state === 'connected') {
        this.kiosk.connected(c.instance);
        // "resynced" is set once every device is in step again (the synced event).
        if (!this.everConnected) this.setLink('connected', '');
        this.everConnected = true;
        this.say(null);
      } else if (c.state === 'connecting' && !this.everConnected) {
        this.setLink('connecting', '');
      } else if (c.state === 'reconnecting') {
        const wait = c.delayMs === undefined ? '' : `next try in ${Math.max(1, Math.round(c.delayMs / 1000))} s`;
        if (this.everConnected) this.history.dropped(this.lastHeard ?? this.now());
        this.setLink(this.everConnected ? 'reconnecting' : 'connecting', wait);
      }
    });
    client.on('synced', (s) => {
      this.synced = true;
      if (this.detail !== undefined && !this.detail.ready) this.detail.missing();
      if (!s.resumed && this.cards.size === 0) this.board.replaceChildren(h('p', { class: 'empty' }, 'The gateway has no devices configured.'));
      this.overview.synced();
      if (s.resumed) {
        this.setLink('resynced', `at ${formatClock(new Date())}`);
        // Replayed diffs reached the trends as updates; devices answered with a snapshot fetch the gap.
        void this.history.resumed();
      }
    });
    client.on('resync', (r) => {
      if (r.snapshot && r.reason !== 'initial') this.history.snapshot(r.device_id);
      this.upsert(r.device);
      if (this.detail?.deviceId === r.device_id) this.detail.resync(r.device);
    });
    client.on('update', (u) => {
      this.clock(u.timestamp);
      this.lastHeard = u.timestamp;
      this.overview.changed(u.device, Object.keys(u.new_state).concat(Object.keys(u.quality ?? {})));
      const card = this.cards.get(u.device_id);
      if (card === undefined) this.upsert(u.device);
      else {
        card.changed(u.device, Object.keys(u.new_state), u.timestamp);
        if (u.quality !== undefined) card.qualityChanged(u.device, Object.keys(u.quality));
      }
      if (this.detail?.deviceId === u.device_id) this.detail.update(u.device, u.new_state, u.timestamp, u.quality, u.action);
    });
    client.on('removed', (r) => {
      const card = this.cards.get(r.device_id);
      if (card === undefined) return;
      this.visibility.unobserve(card.el);
      this.onScreen.delete(card.el);
      card.el.remove();
      this.cards.delete(r.device_id);
      this.overview.remove(r.device_id);
      this.history.forget(r.device_id);
    });
    client.on('error', (e) => {
      if (e.code === 'unauthorized' || e.code === 'forbidden') this.say(e.message);
    });
    client.start();
  }

  private setLink(state: PageLink, detail: string): void {
    clearTimeout(this.resyncedTimer);
    this.header.setLink(state, detail);
    const live = state === 'connected' || state === 'resynced';
    for (const c of this.cards.values()) c.setLinkLive(live);
    this.detail?.setLinkLive(live);
    this.overview.setLinkLive(live);
    if (state === 'resynced') this.resyncedTimer = window.setTimeout(() => this.header.setLink('connected', ''), RESYNCED_SHOWN_MS);
  }

  private upsert(device: DeviceView): void {
    const existing = this.cards.get(device.device_id);
    if (existing !== undefined) {
      existing.resync(device);
      this.overview.upsert(device, existing.el);
      return;
    }
    if (this.cards.size === 0) this.board.replaceChildren();
    const card = new DeviceCard({
      device,
      canWrite: this.canWrite,
      trendWindowS: TREND_WINDOW_S,
      write: (deviceId, point) => (value) => this.write(deviceId, point, value),
    });
    this.cards.set(device.device_id, card);
    card.el.append(h('a', { class: 'detail-link', href: devicePageHash(device.device_id), 'aria-label': `Details of ${device.name}` }, 'Details ›'));
    this.board.append(card.el);
    this.visibility.observe(card.el);
    this.header.setTypes([...this.cards.values()].map((c) => c.device.device_type));
    card.el.hidden = !this.matches(card);
    this.alarms?.markCards();
    card.tick(this.now());
    this.overview.upsert(device, card.el);
    this.wantHistory();
    if (this.detail?.deviceId === device.device_id && !this.detail.ready) this.route();
  }

  /** Writes one point; resolves with the value the device confirmed (its read-back). */
  private async write(deviceId: string, point: string, value: PointValue): Promise<PointValue> {
    const client = this.client;
    if (client === undefined) throw new Error('not connected');
    try {
      const result = await client.control(deviceId, { [point]: value });
      if (Object.hasOwn(result.new_state, point)) return result.new_state[point] as PointValue;
      // Nothing changed: the device already held that value.
      return client.device(deviceId)?.state[point] ?? value;
    } catch (err) {
      // The gateway's message starts with the device id ("motor_01.speed: ..."): ids are shown as
      // they are spelled, never capitalised.
      if (err instanceof GatewayClientError) throw new Error(err.message);
      throw err;
    }
  }

  /** The trends of the cards now shown, once the burst of devices is in (history-loader.ts). */
  private wantHistory(): void {
    clearTimeout(this.historyTimer);
    this.historyTimer = window.setTimeout(() => {
      if (this.overview.view !== 'cards') return;
      void this.history.load([...this.cards.entries()].map(([id, c]) => ({ id, el: c.el })));
    }, 0);
  }

  /** Follows the gateway's clock when ours is off by more than the link's latency. */
  private clock(serverS: number): void {
    const offset = serverS - Date.now() / 1000;
    if (Math.abs(offset - this.clockOffsetS) > 2) this.clockOffsetS = offset;
  }

  private now(): number {
    return Date.now() / 1000 + this.clockOffsetS;
  }

  private tick(): void {
    const now = this.now();
    for (const c of this.cards.values()) if (this.onScreen.has(c.el)) c.tick(now);
    this.overview.tick(now);
    this.detail?.tick(now);
  }

  private matches(card: DeviceCard): boolean {
    return this.overview.matches(card.device);
  }

  private applyFilter(): void {
    let shown = 0;
    for (const c of this.cards.values()) {
      c.el.hidden = !this.matches(c);
      if (!c.el.hidden) shown++;
    }
    this.say(shown === 0 && this.cards.size > 0 ? 'No device matches the filter.' : null);
    this.overview.filtered();
    this.wantHistory();
  }

  private say(text: string | null): void {
    this.notice.hidden = text === null;
    setText(this.notice, text ?? '');
  }
}

const root = document.getElementById('app');
if (root !== null) void new Page(root, loadToken()).boot();
