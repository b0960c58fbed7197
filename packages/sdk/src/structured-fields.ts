/**
 * The part of RFC 8941 (Structured Field Values for HTTP) that HTTP Message Signatures
 * (RFC 9421) and Digest Fields (RFC 9530) need: Dictionaries, Inner Lists, Items with
 * Parameters, and the bare item types Integer, Decimal, String, Token, Byte Sequence
 * and Boolean.
 *
 * The parser follows the algorithms of RFC 8941 §4.2 step by step and is strict on
 * purpose: anything the RFC says to "fail parsing" on throws a StructuredFieldError.
 * These values arrive from untrusted senders and decide whether a signature is
 * accepted, so a guess would be a vulnerability.
 */

export class StructuredFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StructuredFieldError';
  }
}

export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'bytes'; value: Buffer }
  | { type: 'boolean'; value: boolean };

/** Ordered map of parameter keys to bare items (RFC 8941 §3.1.2). */
export type Parameters = Map<string, BareItem>;

export interface Item {
  kind: 'item';
  value: BareItem;
  params: Parameters;
}

export interface InnerList {
  kind: 'inner-list';
  items: Item[];
  params: Parameters;
}

/** Ordered map of keys to members (RFC 8941 §3.2). */
export type Dictionary = Map<string, Item | InnerList>;

// ---------------------------------------------------------------------------
// Constructors, so callers never build the tagged objects by hand.

export const sfInteger = (value: number): BareItem => ({ type: 'integer', value });
export const sfString = (value: string): BareItem => ({ type: 'string', value });
export const sfToken = (value: string): BareItem => ({ type: 'token', value });
export const sfBytes = (value: Uint8Array): BareItem => ({
  type: 'bytes',
  value: Buffer.from(value),
});
export const sfBoolean = (value: boolean): BareItem => ({ type: 'boolean', value });

export function sfItem(value: BareItem, params: Parameters = new Map()): Item {
  return { kind: 'item', value, params };
}

export function sfInnerList(items: Item[], params: Parameters = new Map()): InnerList {
  return { kind: 'inner-list', items, params };
}

// ---------------------------------------------------------------------------
// Character classes (RFC 8941 §3 ABNF, RFC 9110 §5.6.2 tchar).

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLcAlpha = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';
const isAlpha = (c: string | undefined): boolean =>
  c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";
const isTchar = (c: string | undefined): boolean =>
  c !== undefined && (isAlpha(c) || isDigit(c) || TCHAR_SYMBOLS.includes(c));
const isKeyChar = (c: string | undefined): boolean =>
  c !== undefined &&
  (isLcAlpha(c) || isDigit(c) || c === '_' || c === '-' || c === '.' || c === '*');

const KEY_PATTERN = /^[a-z*][a-z0-9_\-.*]*$/;
const TOKEN_PATTERN = /^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]*$/;
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_INTEGER = 999_999_999_999_999;

// ---------------------------------------------------------------------------
// Parsing (RFC 8941 §4.2)

/** A cursor over the field value; each parse step consumes what it recognised. */
class Input {
  position = 0;
  constructor(readonly text: string) {}

  peek(): string | undefined {
    return this.text[this.position];
  }

  consume(): string {
    const char = this.text[this.position];
    if (char === undefined) throw new StructuredFieldError('unexpected end of input');
    this.position += 1;
    return char;
  }

  isEmpty(): boolean {
    return this.position >= this.text.length;
  }

  skipSpaces(): void {
    while (this.peek() === ' ') this.position += 1;
  }

  /** OWS is SP or HTAB (RFC 9110 §5.6.3). */
  skipOptionalWhitespace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.position += 1;
  }

  fail(what: string): never {
    throw new StructuredFieldError(`${what} at position ${this.position}`);
  }
}

/**
 * RFC 8941 §4.2: parse a whole field value as a Dictionary. Several field lines of the
 * same field must be joined with ", " by the caller first (RFC 8941 §4.2 step 1 refers to
 * RFC 9110 §5.3).
 */
export function parseDictionary(fieldValue: string): Dictionary {
  const input = topLevelInput(fieldValue);
  const dictionary = parseDictionaryMembers(input);
  finishTopLevel(input);
  return dictionary;
}

/** RFC 8941 §4.2: parse a whole field value as an Item. */
export function parseItem(fieldValue: string): Item {
  const input = topLevelInput(fieldValue);
  const item = parseItemAt(input);
  finishTopLevel(input);
  return item;
}

function topLevelInput(fieldValue: string): Input {
  // §4.2 step 1: the input must be ASCII; anything else fails.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the RFC's range is literally %x00-7F
  if (!/^[\x00-\x7f]*$/.test(fieldValue)) {
    throw new StructuredFieldError('field value is not ASCII');
  }
  const input = new Input(fieldValue);
  input.skipSpaces(); // §4.2 step 2
  return input;
}

function finishTopLevel(input: Input): void {
  input.skipSpaces(); // §4.2 step 6
  if (!input.isEmpty()) input.fail('unexpected trailing characters'); // §4.2 step 7
}

/** RFC 8941 §4.2.2 Parsing a Dictionary. */
function parseDictionaryMembers(input: Input): Dictionary {
  const dictionary: Dictionary = new Map();
  while (!input.isEmpty()) {
    const key = parseKey(input);
    let member: Item | InnerList;
    if (input.peek() === '=') {
      input.consume();
      member = parseItemOrInnerList(input);
    } else {
      // A key without a value is Boolean true with parameters.
      member = sfItem(sfBoolean(true), parseParameters(input));
    }
    // Duplicate keys: the last one wins, as the RFC says.
    dictionary.set(key, member);
    input.skipOptionalWhitespace();
    if (input.isEmpty()) return dictionary;
    if (input.consume() !== ',') input.fail('expected "," between dictionary members');
    input.skipOptionalWhitespace();
    if (input.isEmpty()) input.fail('trailing comma in dictionary');
  }
  return dictionary;
}

/** RFC 8941 §4.2.1.1 Parsing an Item or Inner List. */
function parseItemOrInnerList(input: Input): Item | InnerList {
  return input.peek() === '(' ? parseInnerList(input) : parseItemAt(input);
}

/** RFC 8941 §4.2.1.2 Parsing an Inner List. */
function parseInnerList(input: Input): InnerList {
  if (input.consume() !== '(') input.fail('expected "("');
  const items: Item[] = [];
  while (!input.isEmpty()) {
    input.skipSpaces();
    if (input.peek() === ')') {
      input.consume();
      return sfInnerList(items, parseParameters(input));
    }
    items.push(parseItemAt(input));
    const next = input.peek();
    if (next !== ' ' && next !== ')') input.fail('expected SP or ")" in inner list');
  }
  return input.fail('inner list is not closed');
}

/** RFC 8941 §4.2.3 Parsing an Item. */
function parseItemAt(input: Input): Item {
  const value = parseBareItem(input);
  return sfItem(value, parseParameters(input));
}

/** RFC 8941 §4.2.3.1 Parsing a Bare Item. */
function parseBareItem(input: Input): BareItem {
  const first = input.peek();
  if (first === '-' || isDigit(first)) return parseIntegerOrDecimal(input);
  if (first === '"') return parseString(input);
  if (first === ':') return parseByteSequence(input);
  if (first === '?') return parseBoolean(input);
  if (isAlpha(first) || first === '*') return parseToken(input);
  return input.fail('unrecognised item type');
}

/** RFC 8941 §4.2.3.2 Parsing Parameters. */
function parseParameters(input: Input): Parameters {
  const params: Parameters = new Map();
  while (input.peek() === ';') {
    input.consume();
    input.skipSpaces();
    const key = parseKey(input);
    let value: BareItem = sfBoolean(true);
    if (input.peek() === '=') {
      input.consume();
      value = parseBareItem(input);
    }
    params.set(key, value);
  }
  return params;
}

/** RFC 8941 §4.2.3.3 Parsing a Key. */
function parseKey(input: Input): string {
  const first = input.peek();
  if (!isLcAlpha(first) && first !== '*') input.fail('a key must start with a-z or "*"');
  let key = '';
  while (isKeyChar(input.peek())) key += input.consume();
  return key;
}

/** RFC 8941 §4.2.4 Parsing an Integer or Decimal. */
function parseIntegerOrDecimal(input: Input): BareItem {
  let sign = 1;
  let digits = '';
  let isDecimal = false;
  if (input.peek() === '-') {
    input.consume();
    sign = -1;
  }
  if (!isDigit(input.peek())) input.fail('expected a digit');
  while (!input.isEmpty()) {
    const char = input.peek();
    if (isDigit(char)) {
      digits += input.consume();
    } else if (!isDecimal && char === '.') {
      if (digits.length > 12) input.fail('too many integer digits in decimal');
      digits += input.consume();
      isDecimal = true;
    } else {
      break;
    }
    if (!isDecimal && digits.length > 15) input.fail('integer has more than 15 digits');
    if (isDecimal && digits.length > 16) input.fail('decimal has more than 16 characters');
  }
  if (!isDecimal) return sfInteger(sign * Number.parseInt(digits, 10));
  if (digits.endsWith('.')) input.fail('decimal ends with "."');
  const fraction = digits.slice(digits.indexOf('.') + 1);
  if (fraction.length > 3) input.fail('decimal has more than 3 fractional digits');
  return { type: 'decimal', value: sign * Number.parseFloat(digits) };
}

/** RFC 8941 §4.2.5 Parsing a String. */
function parseString(input: Input): BareItem {
  if (input.consume() !== '"') input.fail('expected DQUOTE');
  let value = '';
  while (!input.isEmpty()) {
    const char = input.consume();
    if (char === '\\') {
      if (input.isEmpty()) input.fail('string ends inside an escape');
      const next = input.consume();
      if (next !== '"' && next !== '\\') input.fail('only \\" and \\\\ may be escaped');
      value += next;
    } else if (char === '"') {
      return sfString(value);
    } else if (char < ' ' || char === '\x7f') {
      input.fail('control character in string');
    } else {
      value += char;
    }
  }
  return input.fail('string is not closed');
}

/** RFC 8941 §4.2.6 Parsing a Token. */
function parseToken(input: Input): BareItem {
  const first = input.peek();
  if (!isAlpha(first) && first !== '*') input.fail('a token must start with ALPHA or "*"');
  let value = '';
  for (let c = input.peek(); isTchar(c) || c === ':' || c === '/'; c = input.peek()) {
    value += input.consume();
  }
  return sfToken(value);
}

/** RFC 8941 §4.2.7 Parsing a Byte Sequence. */
function parseByteSequence(input: Input): BareItem {
  if (input.consume() !== ':') input.fail('expected ":"');
  const end = input.text.indexOf(':', input.position);
  if (end === -1) input.fail('byte sequence is not closed');
  const encoded = input.text.slice(input.position, end);
  input.position = end + 1;
  return sfBytes(decodeBase64Strict(encoded, input));
}

/**
 * Base64 per RFC 4648 §4. RFC 8941 §4.2.7 says parsers SHOULD NOT fail on missing "="
 * padding or non-zero pad bits, but MUST fail on characters outside the alphabet. Node's
 * decoder silently skips bad characters, so the alphabet and the shape are checked here.
 */
function decodeBase64Strict(encoded: string, input: Input): Buffer {
  if (!BASE64_PATTERN.test(encoded)) input.fail('byte sequence is not base64');
  const unpadded = encoded.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) input.fail('byte sequence has an impossible base64 length');
  if (encoded.length !== unpadded.length && encoded.length % 4 !== 0) {
    input.fail('byte sequence has wrong base64 padding');
  }
  return Buffer.from(unpadded, 'base64');
}

/** RFC 8941 §4.2.8 Parsing a Boolean. */
function parseBoolean(input: Input): BareItem {
  if (input.consume() !== '?') input.fail('expected "?"');
  const char = input.isEmpty() ? undefined : input.consume();
  if (char === '1') return sfBoolean(true);
  if (char === '0') return sfBoolean(false);
  return input.fail('a boolean is ?0 or ?1');
}

// ---------------------------------------------------------------------------
// Serialising (RFC 8941 §4.1)

/** RFC 8941 §4.1.2 Serializing a Dictionary. */
export function serializeDictionary(dictionary: Dictionary): string {
  const members: string[] = [];
  for (const [key, member] of dictionary) {
    const isBareTrue =
      member.kind === 'item' && member.value.type === 'boolean' && member.value.value;
    members.push(
      isBareTrue
        ? serializeKey(key) + serializeParameters(member.params)
        : `${serializeKey(key)}=${serializeItemOrInnerList(member)}`,
    );
  }
  return members.join(', ');
}

export function serializeItemOrInnerList(member: Item | InnerList): string {
  return member.kind === 'inner-list' ? serializeInnerList(member) : serializeItem(member);
}

/** RFC 8941 §4.1.1.1 Serializing an Inner List. */
export function serializeInnerList(list: InnerList): string {
  return `(${list.items.map(serializeItem).join(' ')})${serializeParameters(list.params)}`;
}

/** RFC 8941 §4.1.3 Serializing an Item. */
export function serializeItem(item: Item): string {
  return serializeBareItem(item.value) + serializeParameters(item.params);
}

/** RFC 8941 §4.1.1.2 Serializing Parameters. */
export function serializeParameters(params: Parameters): string {
  let output = '';
  for (const [key, value] of params) {
    output += `;${serializeKey(key)}`;
    if (!(value.type === 'boolean' && value.value)) output += `=${serializeBareItem(value)}`;
  }
  return output;
}

/** RFC 8941 §4.1.1.3 Serializing a Key. */
export function serializeKey(key: string): string {
  if (!KEY_PATTERN.test(key)) throw new StructuredFieldError(`invalid key: ${key}`);
  return key;
}

/** RFC 8941 §4.1.3.1 Serializing a Bare Item. */
export function serializeBareItem(item: BareItem): string {
  switch (item.type) {
    case 'integer':
      return serializeInteger(item.value);
    case 'decimal':
      return serializeDecimal(item.value);
    case 'string':
      return serializeString(item.value);
    case 'token':
      return serializeToken(item.value);
    case 'bytes':
      // §4.1.8: padded base64 (RFC 4648 §4).
      return `:${item.value.toString('base64')}:`;
    case 'boolean':
      return item.value ? '?1' : '?0';
  }
}

/** RFC 8941 §4.1.4 Serializing an Integer. */
function serializeInteger(value: number): string {
  if (!Number.isSafeInteger(value) || Math.abs(value) > MAX_INTEGER) {
    throw new StructuredFieldError(`integer out of range: ${value}`);
  }
  return String(value);
}

/** RFC 8941 §4.1.5 Serializing a Decimal (rounded to three fractional digits). */
function serializeDecimal(value: number): string {
  const rounded = Math.round(value * 1000) / 1000;
  if (!Number.isFinite(rounded) || Math.abs(Math.trunc(rounded)) >= 1e12) {
    throw new StructuredFieldError(`decimal out of range: ${value}`);
  }
  const text = String(rounded);
  return text.includes('.') ? text : `${text}.0`;
}

/** RFC 8941 §4.1.6 Serializing a String. */
function serializeString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) {
    throw new StructuredFieldError('a string may hold only printable ASCII');
  }
  return `"${value.replace(/[\\"]/g, (char) => `\\${char}`)}"`;
}

/** RFC 8941 §4.1.7 Serializing a Token. */
function serializeToken(value: string): string {
  if (!TOKEN_PATTERN.test(value)) throw new StructuredFieldError(`invalid token: ${value}`);
  return value;
}
