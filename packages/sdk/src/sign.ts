/**
 * Signing (and the primitives for verifying) HTTP requests with RFC 9421 HTTP Message
 * Signatures. Kuvert senders hold an asymmetric key; the server has only the public half,
 * so there is no shared secret to leak (DESIGN.md, security invariant 4).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  type JsonWebKey,
  KeyObject,
  randomBytes,
} from 'node:crypto';
import { createContentDigest } from './content-digest.js';
import {
  buildSignatureBase,
  type MessageDescription,
  type SignatureInput,
  type SignatureParams,
  serializeSignatureParams,
} from './signature-base.js';
import {
  type InnerList,
  type Parameters,
  parseDictionary,
  serializeInnerList,
  serializeKey,
} from './structured-fields.js';

/** Algorithm names from the HTTP Signature Algorithms registry (RFC 9421 §6.2.2). */
export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256-sha256';

export interface SenderKey {
  keyId: string;
  algorithm: SignatureAlgorithm;
  /** A private KeyObject, a private JWK, or a PKCS#8 / SEC1 PEM string. */
  privateKey: KeyObject | JsonWebKey | string;
}

/** Kuvert's default coverage; content-digest and content-type are dropped without a body. */
export const DEFAULT_COVERED_COMPONENTS = [
  '@method',
  '@authority',
  '@path',
  '@query',
  'content-digest',
  'content-type',
  'date',
] as const;

const BODY_COMPONENTS = new Set(['content-digest', 'content-type']);

// ---------------------------------------------------------------------------
// Keys

type KeyInput = KeyObject | JsonWebKey | string;

function isKeyObject(key: KeyInput): key is KeyObject {
  return key instanceof KeyObject;
}

export function toPrivateKeyObject(key: KeyInput): KeyObject {
  if (isKeyObject(key)) {
    if (key.type !== 'private') throw new Error('a private key is needed to sign');
    return key;
  }
  return typeof key === 'string' ? createPrivateKey(key) : createPrivateKey({ key, format: 'jwk' });
}

export function toPublicKeyObject(key: KeyInput): KeyObject {
  if (isKeyObject(key)) return key.type === 'private' ? createPublicKey(key) : key;
  return typeof key === 'string' ? createPublicKey(key) : createPublicKey({ key, format: 'jwk' });
}

/** Which RFC 9421 algorithm a key is for, or undefined when Kuvert does not support it. */
export function algorithmOfKey(key: KeyObject): SignatureAlgorithm | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return 'ecdsa-p256-sha256';
  }
  return undefined;
}

function assertKeyFitsAlgorithm(key: KeyObject, algorithm: SignatureAlgorithm): void {
  const actual = algorithmOfKey(key);
  if (actual !== algorithm) {
    throw new Error(`the key is for ${actual ?? 'an unsupported algorithm'}, not ${algorithm}`);
  }
}

/**
 * A new sender key pair as JWKs. The `kid` defaults to the RFC 7638 JWK thumbprint of the
 * public key, so the same key always gets the same id.
 */
export function generateSenderKey(
  algorithm: SignatureAlgorithm,
  kid?: string,
): { privateJwk: JsonWebKey & { kid: string }; publicJwk: JsonWebKey & { kid: string } } {
  const { privateKey, publicKey } =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' }) as JsonWebKey;
  const keyId = kid ?? jwkThumbprint(publicJwk);
  return {
    privateJwk: { ...(privateKey.export({ format: 'jwk' }) as JsonWebKey), kid: keyId },
    publicJwk: { ...publicJwk, kid: keyId },
  };
}

/** RFC 7638 §3: SHA-256 over the required members in lexicographic order, base64url. */
export function jwkThumbprint(jwk: JsonWebKey): string {
  const required =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url');
}

/**
 * A SenderKey from a private JWK (object or JSON text) or a PEM string. The key id is
 * `keyId` when given, else the JWK's `kid`; the algorithm follows from the key itself.
 */
export function loadSenderKey(jwkOrPem: JsonWebKey | string, keyId?: string): SenderKey {
  const jwk = typeof jwkOrPem === 'string' ? parseJwkText(jwkOrPem) : jwkOrPem;
  const privateKey = toPrivateKeyObject(jwk ?? (jwkOrPem as string));
  const algorithm = algorithmOfKey(privateKey);
  if (!algorithm) throw new Error('unsupported key type: use Ed25519 or ECDSA P-256');
  const id = keyId ?? (typeof jwk?.kid === 'string' ? jwk.kid : undefined);
  if (!id) throw new Error('the key has no id: pass keyId or give the JWK a "kid"');
  return { keyId: id, algorithm, privateKey };
}

function parseJwkText(text: string): (JsonWebKey & { kid?: unknown }) | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  return JSON.parse(text) as JsonWebKey & { kid?: unknown };
}

// ---------------------------------------------------------------------------
// HTTP_SIGN and HTTP_VERIFY (RFC 9421 §3.3)

/** RFC 9421 §3.3.4 / §3.3.6: both algorithms produce 64 bytes. */
const SIGNATURE_LENGTH = 64;

/**
 * The base is US-ASCII (RFC 9421 §2.5). Node decodes header bytes as latin1, so encoding
 * as latin1 gives back exactly the bytes that were on the wire.
 */
function signatureBaseBytes(base: string): Buffer {
  return Buffer.from(base, 'latin1');
}

export function createSignature(
  base: string,
  algorithm: SignatureAlgorithm,
  privateKey: KeyInput,
): Buffer {
  const key = toPrivateKeyObject(privateKey);
  assertKeyFitsAlgorithm(key, algorithm);
  const data = signatureBaseBytes(base);
  // §3.3.6: Ed25519 signs the base itself, no pre-hash.
  if (algorithm === 'ed25519') return cryptoSign(null, data, key);
  // §3.3.4: ECDSA P-256 over SHA-256, output r||s, each 32 bytes (not DER).
  return cryptoSign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
}

export function verifySignature(options: {
  base: string;
  signature: Uint8Array;
  algorithm: SignatureAlgorithm;
  publicKey: KeyInput;
}): boolean {
  const key = toPublicKeyObject(options.publicKey);
  if (algorithmOfKey(key) !== options.algorithm) return false;
  if (options.signature.length !== SIGNATURE_LENGTH) return false;
  const data = signatureBaseBytes(options.base);
  if (options.algorithm === 'ed25519') return cryptoVerify(null, data, key, options.signature);
  return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, options.signature);
}

// ---------------------------------------------------------------------------
// Signature base and fields

/**
 * The signature base (RFC 9421 §2.5) and the Signature-Input member value (§4.1) for a
 * message; the value is the same text as the `@signature-params` line.
 */
export function signatureBaseFor(
  message: MessageDescription,
  input: SignatureInput,
): { base: string; signatureParams: string } {
  return {
    base: buildSignatureBase(message, input),
    signatureParams: serializeSignatureParams(input),
  };
}

export interface SignedMessage {
  base: string;
  signature: Buffer;
  /** Field values to add to the message (RFC 9421 §4.1 and §4.2). */
  headers: { 'Signature-Input': string; Signature: string };
}

/**
 * Signs a message description (RFC 9421 §3.1) with any covered components and parameters,
 * and returns the Signature-Input and Signature field values under `label`.
 */
export function signMessage(options: {
  message: MessageDescription;
  components: readonly string[];
  params: SignatureParams;
  key: Pick<SenderKey, 'algorithm' | 'privateKey'>;
  label?: string;
}): SignedMessage {
  const label = serializeKey(options.label ?? 'sig1');
  const input = { components: options.components, params: options.params };
  const { base, signatureParams } = signatureBaseFor(options.message, input);
  const signature = createSignature(base, options.key.algorithm, options.key.privateKey);
  return {
    base,
    signature,
    headers: {
      'Signature-Input': `${label}=${signatureParams}`,
      Signature: `${label}=:${signature.toString('base64')}:`,
    },
  };
}

export interface SignRequestOptions {
  method: string;
  url: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array;
  key: SenderKey;
  /** UNIX seconds; defaults to now. */
  created?: number;
  /** Defaults to 16 random bytes, base64url. */
  nonce?: string;
  label?: string;
  /** Defaults to DEFAULT_COVERED_COMPONENTS (without the body ones when there is no body). */
  components?: readonly string[];
}

/**
 * Signs a Kuvert API request. With a body, `headers` must hold its `Content-Type`: the
 * signature covers it and the digest. Returns the headers to add: `Content-Digest` (with a body),
 * `Date` (unless given), `Signature-Input` and `Signature`. Call it once per attempt: each
 * call gets a fresh `created` and nonce, so a retry is never a replay.
 */
export function signRequest(options: SignRequestOptions): Record<string, string> {
  const url = new URL(options.url);
  if (
    options.body !== undefined &&
    !options.components &&
    !hasHeader(options.headers, 'content-type')
  ) {
    // The server requires content-type to be covered with a body: it decides how the body is read.
    throw new Error(
      'a request with a body needs a Content-Type header, which the signature covers',
    );
  }
  const created = options.created ?? Math.floor(Date.now() / 1000);
  const added: Record<string, string> = {};
  if (options.body !== undefined) added['Content-Digest'] = createContentDigest(options.body);
  if (!hasHeader(options.headers, 'date')) {
    // RFC 9110 §5.6.7 IMF-fixdate, the same instant as `created`.
    added.Date = new Date(created * 1000).toUTCString();
  }
  const headers = { ...withoutHeader(options.headers ?? {}, 'content-digest'), ...added };
  const signed = signMessage({
    message: {
      method: normalizeMethod(options.method),
      authority: url.host,
      path: url.pathname,
      query: url.search,
      scheme: url.protocol.replace(/:$/, ''),
      headers,
    },
    components: options.components ?? defaultComponents(options.body !== undefined),
    params: {
      created,
      nonce: options.nonce ?? randomBytes(16).toString('base64url'),
      keyid: options.key.keyId,
      alg: options.key.algorithm,
    },
    key: options.key,
    ...(options.label === undefined ? {} : { label: options.label }),
  });
  return { ...added, ...signed.headers };
}

function defaultComponents(hasBody: boolean): string[] {
  return DEFAULT_COVERED_COMPONENTS.filter((name) => hasBody || !BODY_COMPONENTS.has(name));
}

/**
 * fetch upper-cases these methods before sending (Fetch standard, "normalize a method"),
 * so the signature must cover the upper-cased form; other methods go out as written.
 */
function normalizeMethod(method: string): string {
  const upper = method.toUpperCase();
  return ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT'].includes(upper) ? upper : method;
}

function hasHeader(headers: Record<string, string> | undefined, name: string): boolean {
  return Object.keys(headers ?? {}).some((key) => key.toLowerCase() === name);
}

function withoutHeader(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => key.toLowerCase() !== name));
}

// ---------------------------------------------------------------------------
// Reading Signature-Input and Signature (RFC 9421 §4.1, §4.2)

export interface ParsedSignature {
  label: string;
  /** The covered component identifiers as sent, parameters included. */
  components: InnerList['items'];
  /** The signature parameters exactly as parsed, in order. */
  params: Parameters;
  /** The Signature-Input member re-serialised: the `@signature-params` value (§3.2 step 7). */
  signatureParams: string;
  signature: Buffer;
}

/**
 * Picks the signature to verify: the first Signature-Input member whose label also has a
 * Signature member (RFC 9421 §3.2 step 1 leaves the choice to the verifier's policy).
 * Throws when the fields are malformed, none matches, or the chosen members have the
 * wrong shape. Multiple field lines must be joined with ", " first.
 */
export function parseSignatureFields(signatureInput: string, signature: string): ParsedSignature {
  const inputs = parseDictionary(signatureInput);
  const values = parseDictionary(signature);
  const label = [...inputs.keys()].find((key) => values.has(key));
  if (label === undefined) {
    throw new Error('no Signature-Input member has a matching Signature member');
  }
  const input = inputs.get(label)!;
  const value = values.get(label)!;
  // §4.1: the member value is an Inner List of component identifiers (Strings).
  if (input.kind !== 'inner-list' || input.items.some((item) => item.value.type !== 'string')) {
    throw new Error(`Signature-Input member ${label} is not an inner list of strings`);
  }
  // §4.2: the member value is a Byte Sequence.
  if (value.kind !== 'item' || value.value.type !== 'bytes') {
    throw new Error(`Signature member ${label} is not a byte sequence`);
  }
  return {
    label,
    components: input.items,
    params: input.params,
    signatureParams: serializeInnerList(input),
    signature: value.value.value,
  };
}
