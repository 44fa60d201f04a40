/**
 * Colour themes: dark (the default, for dim control rooms), light (panels in sunlight) and auto
 * (follows the device's light/dark setting, `prefers-color-scheme`, live). The choice is kept per
 * browser (localStorage); `?theme=light|dark|auto` in the URL sets it too (a kiosk has no menu).
 *
 * The page's colours are CSS variables: the theme sets `data-scheme` on <html> and theme.css
 * swaps them. The chart reads the same variables when it draws.
 */
import { h } from './dom.js';

export type ThemeChoice = 'dark' | 'light' | 'auto';
const CHOICES: { value: ThemeChoice; text: string }[] = [
  { value: 'dark', text: 'Dark' },
  { value: 'light', text: 'Light' },
  { value: 'auto', text: 'Auto' },
];
const KEY = 'mgw.theme';

function isChoice(v: string | null): v is ThemeChoice {
  return v === 'dark' || v === 'light' || v === 'auto';
}

export class Theme {
  /** The switch for the header. */
  readonly select: HTMLSelectElement;
  private choice: ThemeChoice = 'dark';
  private readonly light = window.matchMedia('(prefers-color-scheme: light)');

  constructor(search = location.search) {
    const asked = new URLSearchParams(search).get('theme');
    if (isChoice(asked)) {
      this.choice = asked;
      save(asked);
    } else {
      const kept = load();
      if (isChoice(kept)) this.choice = kept;
    }
    this.select = h(
      'select',
      { id: 'theme', class: 'theme-pick', 'aria-label': 'Colour theme', title: 'Colour theme', 'data-kiosk-hide': true },
      ...CHOICES.map((c) => h('option', { value: c.value }, c.text)),
    );
    this.select.value = this.choice;
    this.select.addEventListener('change', () => {
      if (!isChoice(this.select.value)) return;
      this.choice = this.select.value;
      save(this.choice);
      this.apply();
    });
    this.light.addEventListener('change', () => this.apply());
    this.apply();
  }

  /** dark or light: what is on screen now. */
  get scheme(): 'dark' | 'light' {
    return this.choice === 'auto' ? (this.light.matches ? 'light' : 'dark') : this.choice;
  }

  private apply(): void {
    const root = document.documentElement;
    const scheme = this.scheme;
    root.dataset['theme'] = this.choice;
    root.dataset['scheme'] = scheme;
    // Form controls and scroll bars follow too.
    root.style.colorScheme = scheme;
    document.querySelector('meta[name="color-scheme"]')?.setAttribute('content', scheme);
    document.querySelector('meta[name="theme-color"]')?.setAttribute('content', scheme === 'light' ? '#f4f6f8' : '#0d1318');
    // Canvas drawings (the chart) read the colours when they draw: tell them.
    window.dispatchEvent(new Event('mgw-theme'));
  }
}

function load(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function save(choice: ThemeChoice): void {
  try {
    localStorage.setItem(KEY, choice);
  } catch {
    // storage disabled: the choice lasts until the page reloads
  }
}
