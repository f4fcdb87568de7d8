import { describe, expect, it } from 'vitest';
import { MAX_ERROR_TEXT_BYTES, storedErrorText } from '../../../src/errors/error-text.js';

describe('storedErrorText', () => {
  it('keeps a text of exactly 8 KiB of UTF-8, and cuts one byte more', () => {
    expect(MAX_ERROR_TEXT_BYTES).toBe(8 * 1024);
    const fits = 'x'.repeat(8 * 1024);
    expect(storedErrorText(fits)).toBe(fits);
    expect(storedErrorText(`${fits}y`)).toBe(`${fits}… [cut: 1 bytes]`);
  });

  it('cuts before a character that would cross the limit, never inside it', () => {
    // 4 + 3 bytes with a 6-byte limit: the euro sign does not fit whole.
    expect(storedErrorText('abcd€', 6)).toBe('abcd… [cut: 3 bytes]');
    // A surrogate pair is one 4-byte character.
    expect(storedErrorText('ab😀c', 5)).toBe('ab… [cut: 5 bytes]');
    expect(storedErrorText('ab😀c', 6)).toBe('ab😀… [cut: 1 bytes]');
  });

  it('leaves short texts and the empty text alone', () => {
    expect(storedErrorText('')).toBe('');
    expect(storedErrorText('boom')).toBe('boom');
  });
});
