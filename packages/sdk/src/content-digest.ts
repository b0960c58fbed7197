/**
 * RFC 9530 Digest Fields: the `Content-Digest` field, a hash of the exact content bytes
 * of a message. A signature (RFC 9421) covers this field rather than the body itself, so
 * a verifier must recompute the hash over the bytes it received.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type Dictionary,
  parseDictionary,
  serializeDictionary,
  sfBytes,
  sfItem,
} from './structured-fields.js';

/**
 * The algorithms of RFC 9530 §5 whose status is "Active". The others (md5, sha, unixsum,
 * unixcksum, adler, crc32c) are deprecated and MUST NOT be used where an attacker is
 * involved, which is always the case for a signed request.
 */
export type DigestAlgorithm = 'sha-256' | 'sha-512';

const NODE_HASH_NAMES: Record<DigestAlgorithm, string> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
};

const isSupportedAlgorithm = (name: string): name is DigestAlgorithm =>
  Object.hasOwn(NODE_HASH_NAMES, name);

export function digestBytes(body: Uint8Array, algorithm: DigestAlgorithm): Buffer {
  return createHash(NODE_HASH_NAMES[algorithm]).update(body).digest();
}

/** The `Content-Digest` field value for `body`, e.g. `sha-512=:…:` (RFC 9530 §2). */
export function createContentDigest(
  body: Uint8Array,
  algorithm: DigestAlgorithm = 'sha-512',
): string {
  const dictionary: Dictionary = new Map([
    [algorithm, sfItem(sfBytes(digestBytes(body, algorithm)))],
  ]);
  return serializeDictionary(dictionary);
}

/**
 * Parses a `Content-Digest` field: an RFC 8941 Dictionary whose member values MUST be Byte
 * Sequences (RFC 9530 §2). Throws on anything else. Keys are returned as sent, unsupported
 * algorithms included, so the caller can tell "unknown algorithm" from "malformed".
 */
export function parseContentDigest(header: string): Map<string, Buffer> {
  const digests = new Map<string, Buffer>();
  for (const [algorithm, member] of parseDictionary(header)) {
    if (member.kind !== 'item' || member.value.type !== 'bytes') {
      throw new Error(`Content-Digest member ${algorithm} is not a byte sequence (RFC 9530 §2)`);
    }
    digests.set(algorithm, member.value.value);
  }
  return digests;
}

export type ContentDigestCheck =
  | { ok: true }
  | { ok: false; reason: 'malformed' | 'no-supported-algorithm' | 'mismatch'; detail: string };

/** Checks content that arrives in pieces against a `Content-Digest` field, hashing as it goes. */
export interface ContentDigestVerifier {
  update(chunk: Uint8Array): void;
  /** The verdict over every byte given to `update`; call once, at the end of the content. */
  finish(): ContentDigestCheck;
}

type ContentDigestFailure = Extract<ContentDigestCheck, { ok: false }>;

/**
 * Starts checking content against a `Content-Digest` field before any of it has arrived, so a
 * malformed field or one without a supported algorithm is refused without reading the content.
 * RFC 9530 §2 lets a recipient ignore members; Kuvert ignores only algorithms it does not
 * support, insists on at least one supported one, and requires every supported one to match,
 * so a sender cannot pair a good sha-256 with a forged sha-512.
 */
export function startContentDigestCheck(
  header: string,
): ContentDigestVerifier | ContentDigestFailure {
  let digests: Map<string, Buffer>;
  try {
    digests = parseContentDigest(header);
  } catch (error) {
    return { ok: false, reason: 'malformed', detail: (error as Error).message };
  }
  const checks = [...digests]
    .filter((entry): entry is [DigestAlgorithm, Buffer] => isSupportedAlgorithm(entry[0]))
    .map(([algorithm, claimed]) => ({
      algorithm,
      claimed,
      hash: createHash(NODE_HASH_NAMES[algorithm]),
    }));
  if (checks.length === 0) {
    const sent = [...digests.keys()].join(', ') || 'none';
    return { ok: false, reason: 'no-supported-algorithm', detail: `algorithms sent: ${sent}` };
  }
  return {
    update(chunk) {
      for (const check of checks) check.hash.update(chunk);
    },
    finish() {
      for (const { algorithm, claimed, hash } of checks) {
        if (!sameBytes(claimed, hash.digest())) {
          return {
            ok: false,
            reason: 'mismatch',
            detail: `${algorithm} does not match the content`,
          };
        }
      }
      return { ok: true };
    },
  };
}

/** Checks a `Content-Digest` field against the received bytes and says why it fails. */
export function checkContentDigest(header: string, body: Uint8Array): ContentDigestCheck {
  const verifier = startContentDigestCheck(header);
  if ('ok' in verifier) return verifier;
  verifier.update(body);
  return verifier.finish();
}

/** True when `header` is a well-formed `Content-Digest` that matches `body`. */
export function verifyContentDigest(header: string, body: Uint8Array): boolean {
  return checkContentDigest(header, body).ok;
}

/** Constant-time comparison; the length of a hash is public, so checking it first leaks nothing. */
function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
