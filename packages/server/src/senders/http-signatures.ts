/**
 * Verifies that a sender API request is signed with the sender's registered key
 * (DESIGN.md, security invariant 4): RFC 9421 HTTP Message Signatures over method,
 * authority, path, query, Date and an RFC 9530 Content-Digest of the body.
 *
 * Every failure throws the same `signature_invalid` error: the client never learns which
 * check failed, while `logReason` tells the operator precisely. The signature base is
 * built by the SDK's own code, so signer and verifier cannot disagree about it.
 */
import type { JsonWebKey, KeyObject } from 'node:crypto';
import {
  type BareItem,
  buildSignatureBase,
  checkContentDigest,
  type Parameters,
  type ParsedSignature,
  parseSignatureFields,
  type SignatureAlgorithm,
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
  /** host[:port] as the client addressed it. */
  authority: string;
  path: string;
  /** '?a=b' or ''. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer | undefined;
  now: Date;
  findKey(keyId: string): Promise<SenderKeyRecord | undefined>;
  /** Records the nonce; resolves false when it was seen before (replay). */
  consumeNonce(keyId: string, nonce: string, expiresAt: Date): Promise<boolean>;
}

/** Allowed clock difference between sender and server, both ways (security invariant 4). */
export const MAX_CLOCK_SKEW_SECONDS = 300;

/** RFC 9421 §3.2.1 lets an application require components; these are Kuvert's. */
const REQUIRED_COMPONENTS = ['@method', '@authority', '@path', '@query', 'date'] as const;

/** A nonce is stored per request; a bound keeps a hostile sender from storing megabytes. */
const MAX_NONCE_LENGTH = 256;

function refuse(logReason: string): never {
  throw new KuvertError('signature_invalid', undefined, { logReason });
}

/**
 * Verifies the request and returns who sent it. The nonce is consumed last, so a request
 * that fails any other check does not burn it.
 */
export async function verifySignedRequest(
  options: VerifyOptions,
): Promise<{ senderId: string; keyId: string }> {
  const signature = readSignature(options.headers);
  const components = coveredComponents(signature);
  requireCoverage(components, options.body);
  const params = readParams(signature.params);
  checkFreshness(params, options);
  checkContentDigestOf(options);

  const key = await options.findKey(params.keyid);
  if (!key) refuse(`keyid ${JSON.stringify(params.keyid)} is unknown or revoked`);
  // RFC 9421 §3.2 step 6.4: an alg that disagrees with the key fails verification.
  if (params.alg !== undefined && params.alg !== key.algorithm) {
    refuse(`alg ${JSON.stringify(params.alg)} does not match the key's ${key.algorithm}`);
  }

  if (!signatureVerifies(options, signature, key)) {
    // What the server saw helps most here: a proxy rewriting Host or the path is the
    // usual cause, and none of these values is secret.
    const seen = `${options.method} ${options.authority}${options.path}${options.query}`;
    refuse(`signature ${signature.label} does not verify with key ${key.keyId} over ${seen}`);
  }

  // The nonce lives as long as `created` would still be accepted; after that the
  // freshness check refuses a replay on its own.
  const expiresAt = new Date((params.created + MAX_CLOCK_SKEW_SECONDS) * 1000);
  if (!(await options.consumeNonce(key.keyId, params.nonce, expiresAt))) {
    refuse(`nonce was already used with key ${key.keyId} (replay)`);
  }
  return { senderId: key.senderId, keyId: key.keyId };
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
function requireCoverage(components: string[], body: Buffer | undefined): void {
  const missing = REQUIRED_COMPONENTS.filter((name) => !components.includes(name));
  if (missing.length > 0) refuse(`required components are not covered: ${missing.join(', ')}`);
  if (body !== undefined && body.length > 0 && !components.includes('content-digest')) {
    refuse('the request has a body but content-digest is not covered');
  }
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

/** RFC 9530 §2: when a Content-Digest is sent, it must match the bytes received. */
function checkContentDigestOf(options: VerifyOptions): void {
  const digest = header(options.headers, 'content-digest');
  if (digest === undefined) return; // coverage rules above decide whether one is needed
  const result = checkContentDigest(digest, options.body ?? Buffer.alloc(0));
  if (!result.ok) refuse(`Content-Digest ${result.reason}: ${result.detail}`);
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
