/** The most UTF-8 bytes of an error's text that a run outcome stores. */
export const MAX_ERROR_TEXT_BYTES = 8 * 1024;

const encoder = new TextEncoder();

/**
 * An error text as run history and `lastError` store it: unchanged when it
 * fits in `maxBytes` UTF-8 bytes, otherwise its first `maxBytes` bytes, cut
 * on a character boundary, followed by `… [cut: N bytes]`.
 *
 * Every run outcome is built through this before it reaches a backend. History
 * keeps 100 entries per job, so without a cap one handler throwing a
 * megabyte message would store 100 MB per job and send a megabyte to the
 * backend per failed run.
 *
 * @example
 * storedErrorText('x'.repeat(10_000)); // 8,192 × 'x' + '… [cut: 1808 bytes]'
 */
export function storedErrorText(message: unknown, maxBytes: number = MAX_ERROR_TEXT_BYTES): string {
  // A handler may throw an Error whose message is not a string.
  const text = typeof message === 'string' ? message : String(message);
  // UTF-8 never takes more than 3 bytes per UTF-16 code unit: skip the count
  // when the text is short enough whatever it contains.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return text;
  // encodeInto writes whole characters only (it never splits a surrogate
  // pair or a multi-byte sequence) and stops when the buffer is full.
  const { read, written } = encoder.encodeInto(text, new Uint8Array(maxBytes));
  return `${text.slice(0, read)}… [cut: ${bytes - written} bytes]`;
}
