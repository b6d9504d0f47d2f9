/** The CLI's number and duration formatting (ui/format.ts). */
import { describe, expect, it } from 'vitest';
import { seconds } from '../src/ui/format.js';

describe('seconds', () => {
  it('tenths under a minute, whole minutes and seconds from there, never "60 s"', () => {
    expect(seconds(0.04)).toBe('0.0 s');
    expect(seconds(59.94)).toBe('59.9 s');
    // 59.95 would print as "60.0 s" with tenths.
    expect(seconds(59.95)).toBe('1 min 0 s');
    expect(seconds(60)).toBe('1 min 0 s');
    expect(seconds(119.4)).toBe('1 min 59 s');
    expect(seconds(119.6)).toBe('2 min 0 s');
    expect(seconds(3725)).toBe('62 min 5 s');
  });
});
