import { describe, expect, it } from 'vitest';
import { connectedToJournal, fieldName, journalEntry } from '../../src/platform/journal.js';

describe('journal entries from log lines', () => {
  it('puts the event in words into MESSAGE with its fields after it, and each field into its own journal field', () => {
    const line = JSON.stringify({ level: 40, time: '2026-12-06T21:00:00.000Z', pid: 7, module: 'driver', driver: 'modbus', device: 'motor_01', reason: 'no answer in 300 ms', msg: 'device offline' });
    expect(journalEntry(line, 'machine-gateway')).toEqual([
      'MESSAGE=device offline module=driver driver=modbus device=motor_01 reason="no answer in 300 ms"',
      'PRIORITY=4',
      'SYSLOG_IDENTIFIER=machine-gateway',
      'MODULE=driver',
      'DRIVER=modbus',
      'DEVICE=motor_01',
      'REASON=no answer in 300 ms',
      'TIME=2026-12-06T21:00:00.000Z',
    ]);
  });

  it('gives an error its message in MESSAGE and its stack in ERR_STACK; lists stay JSON', () => {
    const line = JSON.stringify({ level: 50, bus: 'rs485', err: { type: 'Error', message: 'Operation not permitted', stack: 'Error: x\n    at y' }, problems: ['a', 'b'], msg: 'bus cannot connect' });
    const entry = journalEntry(line, 'mgw');
    expect(entry[0]).toBe('MESSAGE=bus cannot connect bus=rs485 err="Operation not permitted" problems=["a","b"]');
    expect(entry).toContain('PRIORITY=3');
    expect(entry).toContain('BUS=rs485');
    expect(entry).toContain('ERR=Operation not permitted');
    expect(entry).toContain('ERR_STACK=Error: x\n    at y');
    expect(entry).toContain('PROBLEMS=["a","b"]');
  });

  it('makes journal field names of any key, and keeps a line that is not JSON as it is', () => {
    expect(fieldName('retry_ms')).toBe('RETRY_MS');
    expect(fieldName('_secret')).toBe('SECRET');
    expect(fieldName('2fa-code')).toBe('FA_CODE');
    expect(journalEntry('plain text\n', 'mgw')).toEqual(['MESSAGE=plain text', 'PRIORITY=6', 'SYSLOG_IDENTIFIER=mgw']);
  });

  it('writes to the journal only when stdout or stderr is the stream systemd connected', () => {
    expect(connectedToJournal({})).toBe(false);
    expect(connectedToJournal({ JOURNAL_STREAM: '1:1' })).toBe(false);
  });
});
