/**
 * The signature base of RFC 9421 §2.5: the exact bytes a signer signs and a verifier
 * re-creates. Both sides use this one module, so they cannot drift apart.
 *
 * Supported component identifiers: the derived components `@method`, `@target-uri`,
 * `@authority`, `@scheme`, `@path`, `@query` and `@status` (RFC 9421 §2.2) and HTTP fields
 * by their lower-cased name (RFC 9421 §2.1), without component parameters. Anything else is
 * an error, as §2.5 requires for a component that cannot be resolved.
 */
import {
  type BareItem,
  type InnerList,
  type Parameters,
  serializeInnerList,
  sfInnerList,
  sfInteger,
  sfItem,
  sfString,
} from './structured-fields.js';

export class SignatureBaseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureBaseError';
  }
}

export type HeaderValue = string | readonly string[] | undefined;

/**
 * The message a signature is about. A signer usually gives `targetUri`; a verifier that
 * knows the request line gives `authority`, `path` and `query` exactly as received, which
 * take precedence over `targetUri` (URL parsing would normalise what the sender signed).
 */
export interface MessageDescription {
  method?: string;
  targetUri?: string | URL;
  /** host[:port] as addressed by the client. */
  authority?: string;
  /** Absolute path without the query. */
  path?: string;
  /** '?a=b', or '' when there is none. */
  query?: string;
  scheme?: string;
  /** For responses only. */
  status?: number;
  headers: Record<string, HeaderValue>;
}

/**
 * The signature metadata parameters of RFC 9421 §2.3. They are serialised in the order of
 * the object's keys, and once chosen that order is part of the signature.
 */
export interface SignatureParams {
  created?: number;
  expires?: number;
  nonce?: string;
  keyid?: string;
  alg?: string;
  tag?: string;
}

/** What a Signature-Input member describes: covered components and parameters. */
export interface SignatureInput {
  components: readonly string[];
  /** A plain object (signer) or the parameters exactly as parsed (verifier). */
  params: SignatureParams | Parameters;
}

const DERIVED_COMPONENTS = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@path',
  '@query',
  '@status',
]);

/** RFC 9421 §2.1: field component names are lower-cased field names (RFC 9110 §5.1 token). */
const FIELD_NAME = /^[a-z0-9!#$%&'*+\-.^_`|~]+$/;

/**
 * RFC 9421 §2.3: the `@signature-params` value, an Inner List of the component identifiers
 * as Strings, with the parameters. The same text is the Signature-Input member value.
 */
export function serializeSignatureParams(input: SignatureInput): string {
  return serializeInnerList(signatureParamsList(input));
}

export function signatureParamsList(input: SignatureInput): InnerList {
  const items = input.components.map((name) => sfItem(sfString(name)));
  return sfInnerList(items, toParameters(input.params));
}

function toParameters(params: SignatureParams | Parameters): Parameters {
  if (params instanceof Map) return params;
  const parameters: Parameters = new Map();
  for (const [key, value] of Object.entries(params) as [keyof SignatureParams, unknown][]) {
    if (value === undefined) continue;
    parameters.set(key, signatureParamValue(key, value));
  }
  return parameters;
}

/** RFC 9421 §2.3: created and expires are Integers, the others Strings. */
function signatureParamValue(key: keyof SignatureParams, value: unknown): BareItem {
  if (key === 'created' || key === 'expires') {
    if (!Number.isInteger(value)) {
      throw new SignatureBaseError(`${key} must be an integer UNIX timestamp`);
    }
    return sfInteger(value as number);
  }
  if (typeof value !== 'string') throw new SignatureBaseError(`${key} must be a string`);
  return sfString(value);
}

/**
 * RFC 9421 §2.5 Creating the Signature Base: one line per covered component,
 * `"name": value`, then the `"@signature-params"` line, joined by LF with no final LF.
 */
export function buildSignatureBase(message: MessageDescription, input: SignatureInput): string {
  assertComponentsUsable(input.components);
  const lines = input.components.map((name) => `"${name}": ${componentValue(message, name)}`);
  lines.push(`"@signature-params": ${serializeSignatureParams(input)}`);
  return lines.join('\n');
}

function assertComponentsUsable(components: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of components) {
    // RFC 9421 §2: each component identifier MUST occur only once.
    if (seen.has(name)) throw new SignatureBaseError(`component ${name} is listed twice`);
    seen.add(name);
    // RFC 9421 §2.3: @signature-params is never a covered component.
    if (name === '@signature-params') {
      throw new SignatureBaseError('@signature-params must not be a covered component');
    }
    if (name.startsWith('@')) {
      if (!DERIVED_COMPONENTS.has(name)) {
        throw new SignatureBaseError(`unsupported derived component ${name}`);
      }
    } else if (!FIELD_NAME.test(name)) {
      throw new SignatureBaseError(
        `component ${JSON.stringify(name)} is not a lower-case field name`,
      );
    }
  }
}

/** The canonical value of one component; §2.5 step 2.4: if it cannot be derived, fail. */
export function componentValue(message: MessageDescription, name: string): string {
  const value = name.startsWith('@') ? derivedValue(message, name) : fieldValue(message, name);
  // RFC 9421 §2: component values MUST NOT contain newlines; one would forge extra lines.
  if (/[\r\n]/.test(value)) throw new SignatureBaseError(`component ${name} contains a newline`);
  return value;
}

/** RFC 9421 §2.2 Derived Components. */
function derivedValue(message: MessageDescription, name: string): string {
  switch (name) {
    case '@method':
      // §2.2.1: the method as a string, case-sensitive.
      return required(name, message.method);
    case '@target-uri':
      return targetUri(message);
    case '@authority':
      return authority(message);
    case '@scheme':
      // §2.2.4: lower-cased.
      return scheme(message);
    case '@path':
      return path(message);
    case '@query':
      return query(message);
    case '@status':
      return status(message);
    default:
      throw new SignatureBaseError(`unsupported derived component ${name}`);
  }
}

function required(name: string, value: string | undefined): string {
  if (value === undefined || value === '') {
    throw new SignatureBaseError(`component ${name} is missing from the message`);
  }
  return value;
}

function parsedTarget(message: MessageDescription): URL | undefined {
  if (message.targetUri === undefined) return undefined;
  return message.targetUri instanceof URL ? message.targetUri : new URL(message.targetUri);
}

/** §2.2.2: the full target URI (RFC 9110 §7.1). */
function targetUri(message: MessageDescription): string {
  if (message.authority !== undefined || message.path !== undefined) {
    return `${scheme(message)}://${authority(message)}${path(message)}${queryOrEmpty(message)}`;
  }
  const url = parsedTarget(message);
  if (!url) throw new SignatureBaseError('component @target-uri is missing from the message');
  return `${url.protocol}//${url.host}${url.pathname || '/'}${url.search}`;
}

/**
 * §2.2.3: the authority, normalised per RFC 9110 §4.2.3: host lower-cased, default port
 * omitted (WHATWG URL parsing already drops the scheme's default port).
 */
function authority(message: MessageDescription): string {
  const value = message.authority ?? parsedTarget(message)?.host;
  return required('@authority', value).toLowerCase();
}

function scheme(message: MessageDescription): string {
  const value = message.scheme ?? parsedTarget(message)?.protocol.replace(/:$/, '');
  return required('@scheme', value).toLowerCase();
}

/** §2.2.6: the absolute path without query; an empty path is "/" (RFC 9110 §4.2.3). */
function path(message: MessageDescription): string {
  const value = message.path ?? parsedTarget(message)?.pathname;
  if (value === undefined)
    throw new SignatureBaseError('component @path is missing from the message');
  return value === '' ? '/' : value;
}

/** §2.2.7: the query with its leading "?"; an absent query is "?" alone. */
function query(message: MessageDescription): string {
  const value = queryOrEmpty(message);
  return value === '' ? '?' : value;
}

function queryOrEmpty(message: MessageDescription): string {
  const value = message.query ?? parsedTarget(message)?.search;
  if (value === undefined)
    throw new SignatureBaseError('component @query is missing from the message');
  if (value !== '' && !value.startsWith('?')) {
    throw new SignatureBaseError('the query must start with "?"');
  }
  return value;
}

/** §2.2.9: the three-digit status code of a response; never in a request. */
function status(message: MessageDescription): string {
  if (message.status === undefined) {
    throw new SignatureBaseError('component @status is missing (it exists only in responses)');
  }
  if (!Number.isInteger(message.status) || message.status < 100 || message.status > 999) {
    throw new SignatureBaseError('@status must be a three-digit status code');
  }
  return String(message.status);
}

/**
 * RFC 9421 §2.1 HTTP Fields: every field line of that name, in order, stripped of leading
 * and trailing whitespace, obsolete line folding replaced by one space, joined by ", ".
 * Field names are case-insensitive, so every key that matches in any case is collected.
 */
function fieldValue(message: MessageDescription, name: string): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(message.headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    if (typeof value === 'string') lines.push(value);
    else lines.push(...value);
  }
  if (lines.length === 0) {
    throw new SignatureBaseError(`component ${name} is missing from the message`);
  }
  return lines.map(canonicalFieldLine).join(', ');
}

function canonicalFieldLine(line: string): string {
  return line.replace(/\r\n[ \t]+/g, ' ').replace(/^[ \t]+|[ \t]+$/g, '');
}
