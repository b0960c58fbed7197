import { type TStringOptions, Type } from 'typebox';
import { KuvertError } from './errors.js';

/**
 * The one rule for free text that Kuvert stores or shows: subjects, file names, names, email
 * addresses, login fields. Refused are
 * - C0 and C1 control characters and DEL: NUL cannot be stored by PostgreSQL at all, and the
 *   others have no meaning in a one-line field (no field of ours allows line breaks today; one
 *   that does would get its own, explicit exception here);
 * - the line and paragraph separators U+2028 and U+2029, for the same reason;
 * - the bidirectional formatting characters (Unicode UAX #9: embeddings, overrides, isolates
 *   and the implicit marks U+200E, U+200F, U+061C): with them `invoice` + U+202E + `fdp.exe`
 *   displays as `invoiceexe.pdf` (the "Trojan Source" family of tricks, CVE-2021-42574);
 * - unpaired UTF-16 surrogates, which are not text and would reach the database as U+FFFD.
 *
 * It is expressed once, as a JSON Schema `pattern` that Fastify's Ajv and TypeBox's `Value`
 * both check (each compiles patterns with the `u` flag, which the surrogate range needs), so
 * the OpenAPI document shows it too; `explainUnsafeText` turns a failure into a 422 detail that
 * names the field and the character found.
 */
const refused: ReadonlyArray<readonly [from: number, to: number]> = [
  [0x0000, 0x001f],
  [0x007f, 0x009f],
  [0x061c, 0x061c],
  [0x200e, 0x200f],
  [0x2028, 0x2029],
  [0x202a, 0x202e],
  [0x2066, 0x2069],
  [0xd800, 0xdfff],
];

const hex = (codePoint: number) => codePoint.toString(16).toUpperCase().padStart(4, '0');

/** The JSON Schema pattern of safe text (ECMA-262 with the `u` flag). */
export const safeTextPattern = `^[^${refused
  .map(([from, to]) => (from === to ? `\\u${hex(from)}` : `\\u${hex(from)}-\\u${hex(to)}`))
  .join('')}]*$`;

/** A string schema for free text: the given limits plus the safe-text rule. */
export function SafeText(options: TStringOptions) {
  return Type.String({ ...options, pattern: safeTextPattern });
}

const names: Record<number, string> = {
  0: 'NULL',
  9: 'CHARACTER TABULATION',
  10: 'LINE FEED',
  13: 'CARRIAGE RETURN',
  1564: 'ARABIC LETTER MARK',
  8206: 'LEFT-TO-RIGHT MARK',
  8207: 'RIGHT-TO-LEFT MARK',
  8232: 'LINE SEPARATOR',
  8233: 'PARAGRAPH SEPARATOR',
  8234: 'LEFT-TO-RIGHT EMBEDDING',
  8235: 'RIGHT-TO-LEFT EMBEDDING',
  8236: 'POP DIRECTIONAL FORMATTING',
  8237: 'LEFT-TO-RIGHT OVERRIDE',
  8238: 'RIGHT-TO-LEFT OVERRIDE',
  8294: 'LEFT-TO-RIGHT ISOLATE',
  8295: 'RIGHT-TO-LEFT ISOLATE',
  8296: 'FIRST STRONG ISOLATE',
  8297: 'POP DIRECTIONAL ISOLATE',
};

function kindOf(codePoint: number): string {
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return 'an unpaired surrogate';
  if (codePoint === 0x2028 || codePoint === 0x2029) return 'a line break';
  if (codePoint < 0x200 || codePoint === 0x7f) return 'a control character';
  return 'a bidirectional formatting character';
}

const isRefused = (codePoint: number) =>
  refused.some(([from, to]) => codePoint >= from && codePoint <= to);

export interface UnsafeCharacter {
  codePoint: number;
  /** 1-based position in code points, as a person would count characters. */
  position: number;
}

/** The first refused character of `text`, if any. */
export function findUnsafeCharacter(text: string): UnsafeCharacter | undefined {
  let position = 0;
  // Iterating a string yields code points; a lone surrogate comes out as itself.
  for (const character of text) {
    position += 1;
    const codePoint = character.codePointAt(0)!;
    if (isRefused(codePoint)) return { codePoint, position };
  }
  return undefined;
}

/**
 * A detail for a 422 that names the field and what was found, or undefined for safe text. It
 * shows the code point, never the text itself (the text could be anything).
 */
export function explainUnsafeText(field: string, text: string): string | undefined {
  const found = findUnsafeCharacter(text);
  if (!found) return undefined;
  const name = names[found.codePoint];
  return (
    `${field} contains ${kindOf(found.codePoint)} (U+${hex(found.codePoint)}${name ? ` ${name}` : ''}) ` +
    `at character ${found.position}: control characters, line breaks and bidirectional formatting characters are not allowed.`
  );
}

/** For text that does not pass through a schema (CLI input, multipart headers). */
export function assertSafeText(field: string, text: string): void {
  const detail = explainUnsafeText(field, text);
  if (detail) throw new KuvertError('validation_failed', detail);
}

/**
 * For text stored before the rule existed: each refused character shown as U+FFFD, so that an
 * old subject or file name cannot reorder what a recipient sees.
 */
export function displaySafe(text: string): string {
  if (!findUnsafeCharacter(text)) return text;
  return [...text].map((c) => (isRefused(c.codePointAt(0)!) ? '\uFFFD' : c)).join('');
}

/** One issue of a JSON Schema validation, as Ajv and TypeBox both report it. */
export interface SchemaIssue {
  keyword: string;
  instancePath: string;
  params?: unknown;
  message?: string | undefined;
}

/**
 * The 422 detail for one schema issue: `metadata.subject must NOT have more than 200 characters`,
 * or, when the safe-text rule failed, which character was found where. `root` is the validated
 * value; `prefix` names it (`body`, `metadata`).
 */
export function explainSchemaIssue(prefix: string, issue: SchemaIssue, root: unknown): string {
  const segments = issue.instancePath
    .split('/')
    .slice(1)
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  const field = [prefix, ...segments].join('.');
  const value = segments.reduce<unknown>(
    (current, key) =>
      current !== null && typeof current === 'object' ? Reflect.get(current, key) : undefined,
    root,
  );
  const unsafe =
    (issue.keyword === 'pattern' && patternOf(issue) === safeTextPattern) ||
    issue.keyword === 'anyOf'
      ? firstUnsafeString(field, value)
      : undefined;
  return unsafe ?? `${field} ${issue.message ?? 'is invalid'}`;
}

const patternOf = (issue: SchemaIssue) =>
  issue.params !== null && typeof issue.params === 'object'
    ? Reflect.get(issue.params, 'pattern')
    : undefined;

/** A union (say, the recipient) fails as a whole: look inside it for the unsafe string. */
function firstUnsafeString(field: string, value: unknown, depth = 0): string | undefined {
  if (typeof value === 'string') return explainUnsafeText(field, value);
  if (value === null || typeof value !== 'object' || depth > 3) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const found = firstUnsafeString(`${field}.${key}`, inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}
