/**
 * Kiosk mode (`?kiosk=1`): a wall panel nobody sits at. The body gets the `kiosk` class, which
 * hides whatever carries `data-kiosk-hide` (the filter box, the theme switch, sign-out); the
 * screen is kept awake where the browser allows it (Screen Wake Lock, taken again whenever the
 * page becomes visible: the browser drops it when the page is hidden); and a gateway that comes
 * back as a new instance (restarted, perhaps upgraded) reloads the page, so the panel runs the
 * page that gateway serves without anyone walking up to it.
 *
 * `document.body.dataset.wakeLock` says how the wake lock stands: held, released, or
 * unavailable with the browser's reason.
 */
export class Kiosk {
  readonly on: boolean;
  private instance: string | undefined;
  private lock: WakeLockSentinel | undefined;
  private asking = false;

  constructor(search = location.search) {
    const v = new URLSearchParams(search).get('kiosk');
    this.on = v === '1' || v === 'true' || v === 'yes';
    if (!this.on) return;
    document.body.classList.add('kiosk');
    void this.keepAwake();
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') void this.keepAwake();
    });
  }

  /**
   * Each welcome of the gateway names its instance: the first is remembered; another one means the
   * gateway process was restarted (an upgrade, a new config), and a kiosk reloads.
   */
  connected(instance: string | undefined): void {
    if (!this.on || instance === undefined) return;
    if (this.instance === undefined) {
      this.instance = instance;
      return;
    }
    if (instance !== this.instance) {
      document.body.dataset['reloading'] = 'true';
      location.reload();
    }
  }

  private async keepAwake(): Promise<void> {
    if (this.asking || (this.lock !== undefined && !this.lock.released)) return;
    const wl = (navigator as Navigator & { wakeLock?: WakeLock }).wakeLock;
    if (wl === undefined) {
      document.body.dataset['wakeLock'] = 'unavailable: this browser has no Screen Wake Lock';
      return;
    }
    this.asking = true;
    try {
      const lock = await wl.request('screen');
      this.lock = lock;
      document.body.dataset['wakeLock'] = 'held';
      lock.addEventListener('release', () => {
        document.body.dataset['wakeLock'] = 'released';
      });
    } catch (err) {
      document.body.dataset['wakeLock'] = `unavailable: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      this.asking = false;
    }
  }
}
