/**
 * Verifies that a sender API request is signed with the sender's registered key
 * (DESIGN.md, security invariant 4): RFC 9421 HTTP Message Signatures over method,
 * authority, path, query, Date and, with a body, its Content-Type and an RFC 9530
 * Content-Digest.
 *
 * Everything is checked from the request line and headers alone, before a byte of the body
 * is read: the body is covered through its Content-Digest, whose value the signature covers,
 * and the returned verifier checks the body against it while it streams in.
 *
 * Every failure throws the same `signature_invalid` error: the client never learns which
 * check failed, while `logReason` tells the operator precisely. The signature base is
 * built by the SDK's own code, so signer and verifier cannot disagree about it.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import {
  type BareItem,
  buildSignatureBase,
  type ContentDigestVerifier,
  type Parameters,
  type ParsedSignature,
  parseSignatureFields,
  type SignatureAlgorithm,
  startContentDigestCheck,
  verifySignature,
} from '@kuvert/sdk';
import { KuvertError } from '../errors.js';

export interface SenderKeyRecord {
  keyId: string;
  senderId: string;
  algorithm: SignatureAlgorithm;
  /** The registered public key: its JWK, or a KeyObject made from it once and cached. */
  publicKey: JsonWebKey | KeyObject;
}

export interface VerifyOptions {
  method: string;
  /**
   * host[:port] of KUVERT_PUBLIC_URL: the only `@authority` a signature may be made for, so a
   * request signed for another instance sharing the key (staging) is refused here.
   */
  authority: string;
  /** The Host header as received; only used to explain a refusal in the log. */
  receivedAuthority?: string | undefined;
  path: string;
  /** '?a=b' or ''. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  /** Whether the request announces a body (a non-zero Content-Length or a Transfer-Encoding). */
  hasBody: boolean;
  now: Date;
  findKey(keyId: string): Promise<SenderKeyRecord | undefined>;
  /** Whether this key used this nonce before. Only looked up here; the caller records it. */
  nonceUsed(keyId: string, nonce: string): Promise<boolean>;
}

/** A verified signature's nonce, to be recorded by whoever acts on the request. */
export interface SignatureNonce {
  keyId: string;
  nonce: string;
  /** The end of the signature's freshness window: a replay after it fails on `created`. */
  expiresAt: Date;
}

export interface VerifiedRequest {
  senderId: string;
  keyId: string;
  nonce: SignatureNonce;
  /**
   * Checks the body against the signed Content-Digest as it arrives (see `refuseUnlessBodyMatches`);
   * undefined when the request announced no body.
   */
  body: ContentDigestVerifier | undefined;
}

/** Allowed clock difference between sender and server, both ways (security invariant 4). */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** RFC 9421 §3.2.1 lets an application require components; these are Kuvert's. */
const REQUIRED_COMPONENTS = ['@method', '@authority', '@path', '@query', 'date'] as const;

/** Required as well when there is a body: what it is, and (through the digest) its bytes. */
const REQUIRED_BODY_COMPONENTS = ['content-digest', 'content-type'] as const;

/** A nonce is stored per request; a bound keeps a hostile sender from storing megabytes. */
const MAX_NONCE_LENGTH = 256;

function refuse(logReason: string): never {
  throw new KuvertError('signature_invalid', undefined, { logReason });
}

/**
 * Verifies the request from its headers alone and returns who sent it, the nonce to record and
 * the body's digest check. The nonce is only looked up, last, so a request that fails any
 * other check does not burn it; the caller records it where it acts on the request.
 */
export async function verifySignedRequest(options: VerifyOptions): Promise<VerifiedRequest> {
  const signature = readSignature(options.headers);
  const components = coveredComponents(signature);
  requireCoverage(components, options.hasBody);
  const params = readParams(signature.params);
  checkFreshness(params, options);
  const body = startBodyDigestCheck(options);

  const key = await options.findKey(params.keyid);
  if (!key) refuse(`keyid ${JSON.stringify(params.keyid)} is unknown or revoked`);
  // RFC 9421 §3.2 step 6.4: an alg that disagrees with the key fails verification.
  if (params.alg !== undefined && params.alg !== key.algorithm) {
    refuse(`alg ${JSON.stringify(params.alg)} does not match the key's ${key.algorithm}`);
  }

  if (!signatureVerifies(options, signature, key)) refuse(whyNotVerified(options, signature, key));

  if (await options.nonceUsed(key.keyId, params.nonce)) {
    refuse(`nonce was already used with key ${key.keyId} (replay)`);
  }
  // The nonce lives as long as `created` would still be accepted; after that the
  // freshness check refuses a replay on its own.
  const expiresAt = new Date((params.created + MAX_CLOCK_SKEW_SECONDS) * 1000);
  return {
    senderId: key.senderId,
    keyId: key.keyId,
    nonce: { keyId: key.keyId, nonce: params.nonce, expiresAt },
    body,
  };
}

/**
 * The log reason for a signature that does not verify. What the server saw helps most: a
 * proxy rewriting the path, or a client signing for the address it connected to rather than
 * KUVERT_PUBLIC_URL, are the usual causes, and none of these values is secret.
 */
function whyNotVerified(
  options: VerifyOptions,
  signature: ParsedSignature,
  key: SenderKeyRecord,
): string {
  const seen = `${options.method} ${options.authority}${options.path}${options.query}`;
  const reason = `signature ${signature.label} does not verify with key ${key.keyId} over ${seen}`;
  const received = options.receivedAuthority?.toLowerCase();
  if (received === undefined || received === options.authority) return reason;
  const madeForReceived = (() => {
    try {
      return signatureVerifies({ ...options, authority: received }, signature, key);
    } catch {
      return false;
    }
  })();
  return madeForReceived
    ? `${reason}: it was made for @authority ${received} (the Host header), but this server is ${options.authority} (KUVERT_PUBLIC_URL)`
    : reason;
}

/** The end of the body: refuses the request when the body does not match its Content-Digest. */
export function refuseUnlessBodyMatches(verifier: ContentDigestVerifier): void {
  const result = verifier.finish();
  if (!result.ok) refuse(`Content-Digest ${result.reason}: ${result.detail}`);
}

function header(headers: VerifyOptions['headers'], name: string): string | undefined {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name || value === undefined) continue;
    lines.push(...(Array.isArray(value) ? value : [value]));
  }
  // RFC 8941 §4.2: several field lines are one comma-separated value.
  return lines.length === 0 ? undefined : lines.join(', ');
}

/** RFC 9421 §3.2 steps 1–3: choose the signature and parse its fields. */
export function readSignature(headers: VerifyOptions['headers']): ParsedSignature {
  const signatureInput = header(headers, 'signature-input');
  const signature = header(headers, 'signature');
  if (signatureInput === undefined) refuse('the Signature-Input header is missing');
  if (signature === undefined) refuse('the Signature header is missing');
  try {
    return parseSignatureFields(signatureInput, signature);
  } catch (error) {
    return refuse(`Signature-Input or Signature is malformed: ${(error as Error).message}`);
  }
}

/** The covered components as names; Kuvert uses no component parameters (§2.1, §2.2). */
function coveredComponents(signature: ParsedSignature): string[] {
  return signature.components.map((item) => {
    const name = item.value.value as string;
    if (item.params.size > 0) refuse(`component ${name} has parameters, which Kuvert does not use`);
    return name;
  });
}

/** RFC 9421 §3.2.1: Kuvert's required coverage; the body is covered through its digest. */
function requireCoverage(components: string[], hasBody: boolean): void {
  const required = hasBody
    ? [...REQUIRED_COMPONENTS, ...REQUIRED_BODY_COMPONENTS]
    : REQUIRED_COMPONENTS;
  const missing = required.filter((name) => !components.includes(name));
  if (missing.length === 0) return;
  const withBody = missing.some(
    (name) => !(REQUIRED_COMPONENTS as readonly string[]).includes(name),
  );
  refuse(
    `${withBody ? 'the request has a body but ' : ''}required components are not covered: ${missing.join(', ')}`,
  );
}

interface KuvertSignatureParams {
  created: number;
  expires: number | undefined;
  keyid: string;
  nonce: string;
  alg: string | undefined;
}

/** RFC 9421 §2.3 parameter types, and Kuvert's required ones: created, keyid, nonce. */
function readParams(params: Parameters): KuvertSignatureParams {
  const created = integerParam(params, 'created');
  const keyid = stringParam(params, 'keyid');
  const nonce = stringParam(params, 'nonce');
  if (created === undefined) refuse('the created parameter is missing');
  if (keyid === undefined) refuse('the keyid parameter is missing');
  if (nonce === undefined) refuse('the nonce parameter is missing');
  if (nonce.length === 0 || nonce.length > MAX_NONCE_LENGTH) {
    refuse(`the nonce must be 1 to ${MAX_NONCE_LENGTH} characters`);
  }
  return {
    created,
    expires: integerParam(params, 'expires'),
    keyid,
    nonce,
    alg: stringParam(params, 'alg'),
  };
}

function integerParam(params: Parameters, name: string): number | undefined {
  const value: BareItem | undefined = params.get(name);
  if (value === undefined) return undefined;
  if (value.type !== 'integer') refuse(`the ${name} parameter is not an integer`);
  return value.value;
}

function stringParam(params: Parameters, name: string): string | undefined {
  const value: BareItem | undefined = params.get(name);
  if (value === undefined) return undefined;
  if (value.type !== 'string') refuse(`the ${name} parameter is not a string`);
  return value.value;
}

/** `created` and the Date header within ±300 s of now; `expires` not past (§3.2.1). */
function checkFreshness(params: KuvertSignatureParams, options: VerifyOptions): void {
  const now = Math.floor(options.now.getTime() / 1000);
  if (params.created < now - MAX_CLOCK_SKEW_SECONDS) {
    refuse(`created is ${now - params.created} s in the past`);
  }
  if (params.created > now + MAX_CLOCK_SKEW_SECONDS) {
    refuse(`created is ${params.created - now} s in the future`);
  }
  if (params.expires !== undefined && params.expires < now) {
    refuse(`the signature expired ${now - params.expires} s ago`);
  }
  const date = header(options.headers, 'date');
  const dateMs = date === undefined ? Number.NaN : Date.parse(date);
  if (Number.isNaN(dateMs)) refuse('the Date header is missing or not an HTTP-date');
  const skew = Math.round(dateMs / 1000) - now;
  if (Math.abs(skew) > MAX_CLOCK_SKEW_SECONDS) refuse(`the Date header is ${skew} s off`);
}

/**
 * RFC 9530 §2: the Content-Digest is parsed before the body is read, so a malformed one, or one
 * without a supported algorithm, costs no body bytes. Without a body, a Content-Digest that was
 * sent must be that of empty content.
 */
function startBodyDigestCheck(options: VerifyOptions): ContentDigestVerifier | undefined {
  const digest = header(options.headers, 'content-digest');
  if (digest === undefined) {
    if (options.hasBody) refuse('the request has a body but no Content-Digest header');
    return undefined;
  }
  const verifier = startContentDigestCheck(digest);
  if ('ok' in verifier) return refuse(`Content-Digest ${verifier.reason}: ${verifier.detail}`);
  if (options.hasBody) return verifier;
  const empty = verifier.finish();
  if (!empty.ok)
    refuse(`the request has no body, but its Content-Digest ${empty.reason}: ${empty.detail}`);
  return undefined;
}

/** The request as received, before any URL normalisation. */
export type ReceivedRequest = Pick<
  VerifyOptions,
  'method' | 'authority' | 'path' | 'query' | 'headers'
>;

/**
 * RFC 9421 §3.2 steps 7–9: re-create the signature base from the request exactly as
 * received and check the signature with the key. No Kuvert policy here; that is
 * verifySignedRequest's job. Throws signature_invalid when the base cannot be built.
 */
export function signatureVerifies(
  request: ReceivedRequest,
  signature: ParsedSignature,
  key: Pick<SenderKeyRecord, 'algorithm' | 'publicKey'>,
): boolean {
  const components = coveredComponents(signature);
  let base: string;
  try {
    base = buildSignatureBase(
      {
        method: request.method,
        authority: request.authority,
        path: request.path,
        query: request.query,
        headers: request.headers,
      },
      { components, params: signature.params },
    );
  } catch (error) {
    return refuse(`the signature base cannot be built: ${(error as Error).message}`);
  }
  return verifySignature({
    base,
    signature: signature.signature,
    algorithm: key.algorithm,
    publicKey: key.publicKey,
  });
}
