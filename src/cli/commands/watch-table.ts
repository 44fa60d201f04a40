/**
 * Redraws a block of lines in place on a terminal: the cursor goes back up over the previous
 * frame, which is cleared and written again. Lines are cut to the terminal width so that none
 * wraps (a wrapped line would break the count of lines to go back over).
 */
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/y;

export class LiveTable {
  private drawn = 0;
  private last = '';

  constructor(private readonly stream: NodeJS.WriteStream) {
    stream.write('\x1b[?25l'); // hide the cursor while the table is live
    stream.on('resize', this.onResize);
  }

  draw(lines: string[]): void {
    const cols = Math.max(20, (this.stream.columns ?? 80) - 1);
    const rows = Math.max(3, (this.stream.rows ?? 24) - 1);
    const text = lines.slice(0, rows).map((l) => fit(l, cols));
    const joined = text.join('\n');
    if (joined === this.last) return;
    const up = this.drawn > 0 ? `\x1b[${this.drawn}F` : '\r';
    this.stream.write(`${up}\x1b[J${joined}\n`);
    this.drawn = text.length;
    this.last = joined;
  }

  close(): void {
    this.stream.off('resize', this.onResize);
    this.stream.write('\x1b[?25h');
  }

  private readonly onResize = () => {
    // Reflowed lines no longer match the count: clear the screen and draw from the top.
    this.stream.write('\x1b[2J\x1b[H');
    this.drawn = 0;
    this.last = '';
  };
}

/** Cuts a line to `cols` visible characters, keeping colour sequences intact. */
export function fit(line: string, cols: number): string {
  let visible = 0;
  let out = '';
  let i = 0;
  while (i < line.length) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(line);
    if (m !== null) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    if (visible >= cols) {
      i++;
      continue;
    }
    out += line[i];
    visible++;
    i++;
  }
  return out;
}
