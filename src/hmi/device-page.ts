/**
 * The device page (`#/devices/<id>`; `#/device/<id>` is the same page): every point with its
 * metadata (type, unit, range, writable, resolution, quality) and live value, the controls for
 * roles that may write, the trends (the history chart of src/hmi/detail.ts) and the recent
 * writes from the audit trail (who, what, when, result) for the roles that may read it.
 */
import { pointQuality } from '../client/quality.js';
import { Api, ApiError } from './api.js';
import { PointControl, type WriteFn } from './controls.js';
import { DeviceDetail } from './detail.js';
import { h, setAttr, setText } from './dom.js';
import { formatAge, formatDateTime, formatValue, label, QUALITY_TEXT } from './format.js';
import type { AuditEntry, DeviceView, PointMeta, PointValue, Quality } from './types.js';

/** How many recent writes the page lists. */
const AUDIT_ROWS = 20;

/** The device id of a device page's hash, or undefined for any other hash. */
export function devicePageId(hash: string): string | undefined {
  const m = /^#\/devices?\/([^/?#]+)\/?$/.exec(hash);
  if (m === null) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1];
  }
}

/** The hash of a device's page. */
export function devicePageHash(deviceId: string): string {
  return `#/devices/${encodeURIComponent(deviceId)}`;
}

export interface DevicePageOptions {
  deviceId: string;
  /** The client's live object, or undefined while the page waits for the gateway's devices. */
  device: DeviceView | undefined;
  api: Api;
  canWrite: boolean;
  /** Whether this role may read the audit trail (operator, admin). */
  canAudit: boolean;
  /** A role's name for the "not allowed" line. */
  role: string;
  now: () => number;
  close: () => void;
  write: (point: string) => WriteFn;
}

interface Row {
  row: HTMLElement;
  value: HTMLElement;
  quality: HTMLElement;
  control: PointControl | undefined;
}

export class DevicePage {
  readonly el: HTMLElement;
  readonly deviceId: string;
  private device: DeviceView | undefined;
  private readonly body: HTMLElement;
  private readonly rows = new Map<string, Row>();
  private online: HTMLElement | undefined;
  private age: HTMLElement | undefined;
  private chart: DeviceDetail | undefined;
  private auditBody: HTMLElement | undefined;
  private auditStatus: HTMLElement | undefined;
  private auditTicket = 0;
  private auditTimer: number | undefined;
  private linkLive = true;

  constructor(private readonly options: DevicePageOptions) {
    this.deviceId = options.deviceId;
    this.device = options.device;
    const close = h('a', { class: 'detail-close', href: '#' }, '← All devices');
    close.addEventListener('click', (e) => {
      e.preventDefault();
      options.close();
    });
    this.body = h('div', { class: 'dp-body' });
    this.el = h('section', { class: 'device-page', 'data-device-page': options.deviceId, 'aria-label': `Device ${options.deviceId}` }, h('nav', { class: 'dp-nav' }, close), this.body);
    if (this.device === undefined) this.body.append(h('p', { class: 'dp-wait', role: 'status' }, `Looking for device ${options.deviceId}…`));
    else this.build(this.device);
  }

  /** Whether the page shows a device (false: still waiting, or not found). */
  get ready(): boolean {
    return this.device !== undefined;
  }

  /** The gateway's device list is complete and this id is not in it. */
  missing(): void {
    if (this.device !== undefined) return;
    this.el.dataset['missing'] = 'true';
    this.body.replaceChildren(
      h('div', { class: 'dp-missing', role: 'alert' }, h('h2', {}, 'No such device'), h('p', {}, `This gateway has no device with the id "${this.deviceId}". It may have been renamed or removed from the configuration.`)),
    );
  }

  /** Fetches the chart's history and the recent writes. */
  load(): void {
    void this.chart?.load();
    void this.loadAudit();
  }

  /** A diff of this device. */
  update(device: DeviceView, values: Record<string, PointValue | boolean>, at: number, quality: Record<string, string> | undefined, action: string): void {
    this.device = device;
    for (const name of Object.keys(values)) this.refresh(name);
    if (quality !== undefined) for (const name of Object.keys(quality)) this.refresh(name);
    if (Object.hasOwn(values, 'online')) this.refreshOnline();
    this.chart?.update(values, at, quality);
    // Someone wrote to this device (here or elsewhere): its record is on disk once the writer
    // was answered, which is about now; look again in a moment.
    if (action === 'device_control') {
      clearTimeout(this.auditTimer);
      this.auditTimer = window.setTimeout(() => void this.loadAudit(), 1000);
    }
  }

  /** The device was replaced by a snapshot. */
  resync(device: DeviceView): void {
    this.device = device;
    for (const name of this.rows.keys()) this.refresh(name);
    this.refreshOnline();
  }

  setLinkLive(live: boolean): void {
    this.linkLive = live;
    this.refreshOnline();
  }

  tick(now: number): void {
    this.chart?.tick(now);
    const d = this.device;
    if (d === undefined || this.age === undefined) return;
    setText(this.age, d.last_update === null ? 'no data yet' : `updated ${formatAge(now - d.last_update)} ago`);
  }

  private build(d: DeviceView): void {
    this.online = h('span', { class: 'online' });
    this.age = h('span', { class: 'age' });
    const head = h(
      'header',
      { class: 'dp-head' },
      h('h2', { id: 'dp-title' }, d.name || d.device_id),
      h('span', { class: 'detail-type' }, d.device_type),
      h('code', { class: 'dp-id' }, d.device_id),
      this.online,
      this.age,
    );
    const table = h(
      'table',
      { class: 'dp-table', 'aria-labelledby': 'dp-points-title' },
      h(
        'thead',
        {},
        h('tr', {}, ...['Point', 'Value', 'Type', 'Range', 'Resolution', 'Writable', 'Quality', ...(this.options.canWrite ? ['Control'] : [])].map((t) => h('th', { scope: 'col' }, t))),
      ),
    );
    const tbody = h('tbody', {});
    for (const [name, meta] of Object.entries(d.points)) tbody.append(this.pointRow(d, name, meta));
    table.append(tbody);
    const points = h('section', { class: 'dp-points' }, h('h3', { id: 'dp-points-title' }, 'Points'), h('div', { class: 'dp-scroll' }, table));

    this.chart = new DeviceDetail({ device: d, api: this.options.api, now: this.options.now, close: this.options.close, head: false });
    const trends = h('section', { class: 'dp-trends' }, h('h3', {}, 'Trends'), this.chart.el);

    const audit = h('section', { class: 'dp-audit', 'aria-labelledby': 'dp-audit-title' }, h('h3', { id: 'dp-audit-title' }, 'Recent writes'));
    if (this.options.canAudit) {
      this.auditStatus = h('p', { class: 'dp-audit-status', role: 'status' }, 'Loading…');
      this.auditBody = h('tbody', {});
      const refresh = h('button', { type: 'button', class: 'btn small dp-audit-refresh', 'aria-label': `Refresh the recent writes of ${d.name || d.device_id}` }, 'Refresh');
      refresh.addEventListener('click', () => void this.loadAudit());
      audit.append(
        refresh,
        h(
          'div',
          { class: 'dp-scroll' },
          h('table', { class: 'dp-audit-table', 'aria-labelledby': 'dp-audit-title' }, h('thead', {}, h('tr', {}, ...['When', 'Who', 'What', 'Result'].map((t) => h('th', { scope: 'col' }, t)))), this.auditBody),
        ),
        this.auditStatus,
      );
    } else {
      audit.append(h('p', { class: 'dp-audit-denied', 'data-denied': 'true' }, `Not allowed: the recent writes (who changed what) are shown to operators and admins; this token has role ${this.options.role}.`));
    }
    this.body.replaceChildren(head, points, trends, audit);
    for (const name of this.rows.keys()) this.refresh(name);
    this.refreshOnline();
  }

  private pointRow(d: DeviceView, name: string, meta: PointMeta): HTMLElement {
    const value = h('span', { class: 'num' });
    const quality = h('span', { class: 'q' });
    const writable = meta.access === 'rw';
    const control =
      this.options.canWrite && writable
        ? new PointControl(d.device_id, d.name || d.device_id, name, meta, this.afterWrite(this.options.write(name)))
        : undefined;
    const row = h(
      'tr',
      { 'data-point': name },
      h('th', { scope: 'row', 'data-label': 'Point' }, h('span', { class: 'pname' }, label(name)), h('code', { class: 'dp-pid' }, name), meta.description ? h('span', { class: 'dp-desc' }, meta.description) : null),
      h('td', { class: 'dp-value', 'data-label': 'Value' }, value, meta.unit ? ' ' : null, meta.unit ? h('span', { class: 'unit' }, meta.unit) : null),
      // A phone's layout breaks the line here (display: none in the table).
      h('td', { class: 'dp-break', 'aria-hidden': 'true' }),
      h('td', { 'data-label': 'Type', class: 'dp-type' }, typeText(meta)),
      h('td', { 'data-label': 'Range', class: 'dp-range' }, rangeText(meta)),
      h('td', { 'data-label': 'Resolution', class: 'dp-resolution' }, resolutionText(meta)),
      h('td', { 'data-label': 'Writable', class: 'dp-writable', 'data-writable': String(writable) }, writable ? (meta.confirm === true ? 'yes, confirmed' : 'yes') : 'no'),
      h('td', { 'data-label': 'Quality', class: 'dp-quality' }, quality),
      this.options.canWrite ? h('td', { 'data-label': 'Control', class: 'dp-control' }, control?.el ?? null) : null,
    );
    this.rows.set(name, { row, value, quality, control });
    return row;
  }

  /** A write from this page: once answered, its record is on disk, so the list is read again. */
  private afterWrite(write: WriteFn): WriteFn {
    return async (value) => {
      try {
        return await write(value);
      } finally {
        clearTimeout(this.auditTimer);
        void this.loadAudit();
      }
    };
  }

  private refresh(name: string): void {
    const r = this.rows.get(name);
    const d = this.device;
    if (r === undefined || d === undefined) return;
    const v = d.state[name];
    setText(r.value, formatValue(v, d.points[name]));
    setAttr(r.row, 'data-value', v === undefined || v === null ? null : String(v));
    r.control?.update(v ?? null);
    const stated = pointQuality(d, name);
    const shown: Quality | undefined = stated === 'good' && !(d.online && this.linkLive) ? 'stale' : stated;
    setAttr(r.row, 'data-quality', shown ?? null);
    setText(r.quality, shown === undefined ? 'no value yet' : shown === 'good' ? 'good' : QUALITY_TEXT[shown].word);
    setAttr(r.quality, 'title', shown === undefined || shown === 'good' ? null : QUALITY_TEXT[shown].why);
  }

  private refreshOnline(): void {
    const d = this.device;
    if (d === undefined || this.online === undefined) return;
    setText(this.online, !d.online ? 'offline' : this.linkLive ? 'online' : 'stale');
    setAttr(this.el, 'data-online', String(d.online));
    for (const [name, r] of this.rows) {
      r.control?.setAvailable(d.online && this.linkLive);
      this.refresh(name);
    }
  }

  private async loadAudit(): Promise<void> {
    if (!this.options.canAudit || this.auditBody === undefined || this.auditStatus === undefined) return;
    const ticket = ++this.auditTicket;
    try {
      const reply = await this.options.api.audit(this.deviceId, AUDIT_ROWS);
      if (ticket !== this.auditTicket) return;
      this.auditBody.replaceChildren(...reply.entries.map((e) => this.auditRow(e)));
      this.el.dataset['auditRows'] = String(reply.entries.length);
      setText(this.auditStatus, reply.entries.length === 0 ? 'No writes recorded for this device yet.' : `The last ${reply.entries.length === 1 ? 'write' : `${reply.entries.length} writes`}, newest first.`);
    } catch (err) {
      if (ticket !== this.auditTicket) return;
      setText(this.auditStatus, err instanceof ApiError ? (err.code === 'forbidden' ? `Not allowed: ${err.message}` : err.message) : 'The recent writes could not be loaded.');
    }
  }

  private auditRow(e: AuditEntry): HTMLElement {
    const points = this.device?.points ?? {};
    let what: string;
    if (e.kind === 'alarm') {
      const alarm = String(e.previous['alarm'] ?? '');
      what = `Alarm ${alarm}: ${String(e.requested['alarm_action'] ?? '')}`;
    } else {
      what = Object.keys(e.requested)
        .map((k) => `${label(k)}: ${formatValue(e.previous[k] as PointValue | undefined, points[k])} → ${formatValue(e.requested[k] as PointValue, points[k])}${points[k]?.unit ? ` ${points[k]!.unit}` : ''}`)
        .join(', ');
    }
    const ok = e.outcome === 'ok';
    return h(
      'tr',
      { 'data-outcome': e.outcome },
      h('td', { class: 'dp-when' }, h('time', { datetime: e.time }, formatDateTime(new Date(e.time)))),
      h('td', { class: 'dp-who' }, e.token, e.remote ? h('span', { class: 'dp-remote' }, ` from ${e.remote}`) : null),
      h('td', { class: 'dp-what' }, what),
      h('td', { class: 'dp-result' }, ok ? 'ok' : `${e.error_code ?? 'error'}: ${e.message ?? ''}`),
    );
  }
}

function typeText(m: PointMeta): string {
  if (m.type === 'enum') return `enum (${(m.enum ?? []).join(', ')})`;
  return m.type;
}

function rangeText(m: PointMeta): string {
  const u = m.unit ? ` ${m.unit}` : '';
  if (m.min !== undefined && m.max !== undefined) return `${m.min} to ${m.max}${u}`;
  if (m.min !== undefined) return `≥ ${m.min}${u}`;
  if (m.max !== undefined) return `≤ ${m.max}${u}`;
  return '–';
}

function resolutionText(m: PointMeta): string {
  if (m.type === 'integer') return '1';
  if (m.type !== 'number') return '–';
  if (m.decimals === undefined) return 'as sent';
  return m.decimals === 0 ? '1' : (10 ** -m.decimals).toFixed(m.decimals);
}
