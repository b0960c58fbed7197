import { displaySafe } from '../safe-text.js';

/**
 * RFC 8187 §3.2.1 attr-char: the only characters an ext-value may carry unencoded.
 * ALPHA / DIGIT / "!" / "#" / "$" / "&" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
 */
const attrChar = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;

/** RFC 8187 §3.2 ext-value `UTF-8''…`: every other byte of the UTF-8 form percent-encoded. */
export function encodeExtValue(value: string): string {
  let encoded = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const character = String.fromCharCode(byte);
    encoded += attrChar.test(character)
      ? character
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `UTF-8''${encoded}`;
}

/**
 * The `filename=` fallback for clients that ignore `filename*` (RFC 6266 §4.3): printable ASCII
 * only, and without `"`, `\` (they would end or escape the quoted string) or `%` (some clients
 * percent-decode this parameter).
 */
export function asciiFallback(filename: string): string {
  return filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
}

/**
 * A Content-Disposition value (RFC 6266) for a download named `filename`, with the safe ASCII
 * `filename=` first and the exact `filename*` after it, which clients that know it prefer.
 */
export function contentDisposition(type: 'inline' | 'attachment', filename: string): string {
  const shown = displaySafe(filename);
  return `${type}; filename="${asciiFallback(shown)}"; filename*=${encodeExtValue(shown)}`;
}
