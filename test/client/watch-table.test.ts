/**
 * The in-place table of `mgw watch`, on a stand-in stream: lines cut to the width without
 * breaking colours, and each frame drawn over the previous one.
 */
import { EventEmitter } from 'node:events';
import { expect, it } from 'vitest';
import { LiveTable, fit } from '../../src/cli/commands/watch-table.js';

it('cuts a line to the visible width and keeps its colour sequences', () => {
  const red = (s: string) => `\x1b[31m${s}\x1b[0m`;
  expect(fit(`ab${red('cdef')}gh`, 4)).toBe(`ab\x1b[31mcd\x1b[0m`);
  expect(fit('short', 10)).toBe('short');
});

it('draws each frame over the previous one and skips a frame that did not change', () => {
  const written: string[] = [];
  const stream = Object.assign(new EventEmitter(), { columns: 40, rows: 10, write: (s: string) => written.push(s) });
  const view = new LiveTable(stream as unknown as NodeJS.WriteStream);
  view.draw(['one', 'two']);
  view.draw(['one', 'two']);
  view.draw(['one', 'three', 'four']);
  view.close();
  expect(written).toEqual(['\x1b[?25l', '\r\x1b[Jone\ntwo\n', '\x1b[2F\x1b[Jone\nthree\nfour\n', '\x1b[?25h']);
});
