import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { MasterKeyError, type MasterKeys } from './master-keys.js';

/**
 * Envelope encryption for documents (security invariant 5), AES-256-GCM throughout.
 *
 * - Every document gets a fresh random 32-byte data key that encrypts exactly one
 *   plaintext, so its random nonce can never repeat under that key.
 * - The data key is wrapped under a key derived from the current master key version;
 *   rotation rewraps data keys and leaves the (large) blobs alone.
 * - Additional authenticated data binds the blob to its letter and document ids and the
 *   wrapped key to its document id and key version: a blob or key swapped into another
 *   row fails to open. The stored SHA-256 of the plaintext is checked after the GCM tag.
 *
 * Master keys wrap many data keys with random 96-bit nonces; NIST SP 800-38D §8.3 bounds
 * that at 2^32 encryptions per key, which `addMasterKeyVersion` resets long before.
 */

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SHA256_BYTES = 32;

/** "KVD" + format version 1: lets a future format be recognised by its first bytes. */
const DOCUMENT_HEADER = Buffer.from([0x4b, 0x56, 0x44, 0x01]);
const WRAPPED_KEY_FORMAT = 0x01;
const SEALED_VALUE_FORMAT = 0x01;
/** format byte + 4-byte key version */
const SEALED_VALUE_HEADER_BYTES = 5;

/** Why a derived key: wrapping and column sealing never share a key, only a master secret. */
const WRAP_KEY_INFO = 'kuvert/document-key-wrap/v1';
const VALUE_KEY_INFO = 'kuvert/sealed-value/v1';

/**
 * A stored document failed to open. One class and one message for every cause (wrong key,
 * flipped bit, swapped row, hash mismatch), so a caller cannot tell an attacker which check
 * caught the change.
 */
export class DocumentIntegrityError extends Error {
  constructor() {
    super('The document failed its integrity check');
    this.name = 'DocumentIntegrityError';
  }
}

/** A sealed database value failed to open; the message does not say why, on purpose. */
export class SealedValueIntegrityError extends Error {
  constructor() {
    super('The sealed value failed its integrity check');
    this.name = 'SealedValueIntegrityError';
  }
}

export interface SealedDocument {
  /** header + nonce + encrypted bytes + tag: what goes to the blob store */
  ciphertext: Buffer;
  /** the data key, wrapped under master key version `keyVersion` */
  wrappedKey: Buffer;
  keyVersion: number;
  /** SHA-256 of the plaintext */
  sha256: Buffer;
}

export function sealDocument(options: {
  plaintext: Buffer;
  letterId: string;
  documentId: string;
  masterKeys: MasterKeys;
  /** SHA-256 of `plaintext` when the caller already has it (ingest hashes the document once). */
  plaintextSha256?: Buffer;
}): SealedDocument {
  const { plaintext, letterId, documentId, masterKeys } = options;
  const aad = documentAad(letterId, documentId);
  const dataKey = randomBytes(KEY_BYTES);
  try {
    const ciphertext = encrypt(dataKey, aad, plaintext, DOCUMENT_HEADER);
    const keyVersion = masterKeys.currentVersion;
    const wrappedKey = wrapDataKey(dataKey, documentId, keyVersion, masterKeys);
    return {
      ciphertext,
      wrappedKey,
      keyVersion,
      sha256: options.plaintextSha256 ?? sha256(plaintext),
    };
  } finally {
    dataKey.fill(0);
  }
}

/** Returns the plaintext, or throws DocumentIntegrityError whatever went wrong. */
export function openDocument(options: {
  ciphertext: Buffer;
  wrappedKey: Buffer;
  keyVersion: number;
  sha256: Buffer;
  letterId: string;
  documentId: string;
  masterKeys: MasterKeys;
}): Buffer {
  const { ciphertext, wrappedKey, keyVersion, letterId, documentId, masterKeys } = options;
  const aad = documentAad(letterId, documentId);
  const dataKey = unwrapDataKey(wrappedKey, documentId, keyVersion, masterKeys);
  try {
    const plaintext = decrypt(dataKey, aad, ciphertext, DOCUMENT_HEADER);
    if (plaintext === undefined || !hashMatches(plaintext, options.sha256)) {
      throw new DocumentIntegrityError();
    }
    return plaintext;
  } finally {
    dataKey.fill(0);
  }
}

/** Rotation without touching blobs: unwrap under the row's version, wrap under the current. */
export function rewrapDocumentKey(options: {
  wrappedKey: Buffer;
  keyVersion: number;
  documentId: string;
  masterKeys: MasterKeys;
}): { wrappedKey: Buffer; keyVersion: number } {
  const { wrappedKey, keyVersion, documentId, masterKeys } = options;
  const dataKey = unwrapDataKey(wrappedKey, documentId, keyVersion, masterKeys);
  try {
    const currentVersion = masterKeys.currentVersion;
    return {
      wrappedKey: wrapDataKey(dataKey, documentId, currentVersion, masterKeys),
      keyVersion: currentVersion,
    };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Seals a small secret for a database column (national identity number, TOTP secret).
 * Self-contained: format byte, key version (uint32 BE), nonce, ciphertext, tag. `context`
 * (e.g. `mailbox:<id>:totp`) is authenticated, so a value copied to another row or column
 * does not open there.
 */
export function sealValue(
  plaintext: Buffer | string,
  context: string,
  masterKeys: MasterKeys,
): Buffer {
  const version = masterKeys.currentVersion;
  const header = Buffer.alloc(SEALED_VALUE_HEADER_BYTES);
  header.writeUInt8(SEALED_VALUE_FORMAT, 0);
  header.writeUInt32BE(version, 1);
  const key = derivedKey(masterKeys, version, VALUE_KEY_INFO);
  const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  return encrypt(key, valueAad(header, context), bytes, header);
}

export function openValue(sealed: Buffer, context: string, masterKeys: MasterKeys): Buffer {
  if (sealed.length < SEALED_VALUE_HEADER_BYTES || sealed[0] !== SEALED_VALUE_FORMAT) {
    throw new SealedValueIntegrityError();
  }
  const header = sealed.subarray(0, SEALED_VALUE_HEADER_BYTES);
  const key = derivedKey(masterKeys, header.readUInt32BE(1), VALUE_KEY_INFO);
  const plaintext = decrypt(key, valueAad(header, context), sealed, header);
  if (plaintext === undefined) throw new SealedValueIntegrityError();
  return plaintext;
}

/**
 * Keyed hash for finding a row by a value that is only stored sealed (national identity
 * numbers): HMAC-SHA-256 under the lookup key of `purpose\0value`. Without the key the
 * 11-digit space could be enumerated from a plain hash in minutes.
 */
export function lookupHash(value: string, purpose: string, masterKeys: MasterKeys): Buffer {
  assertLabel(purpose, 'purpose');
  return createHmac('sha256', masterKeys.lookupKey).update(`${purpose}\0${value}`).digest();
}

// ---------------------------------------------------------------------------------------

function documentAad(letterId: string, documentId: string): Buffer {
  assertLabel(letterId, 'letterId');
  assertLabel(documentId, 'documentId');
  return Buffer.from(`kuvert/document/v1\0${letterId}\0${documentId}`, 'utf8');
}

function wrappedKeyAad(documentId: string, keyVersion: number): Buffer {
  assertLabel(documentId, 'documentId');
  return Buffer.from(`kuvert/document-key/v1\0${documentId}\0${keyVersion}`, 'utf8');
}

function valueAad(header: Buffer, context: string): Buffer {
  assertLabel(context, 'context');
  return Buffer.concat([header, Buffer.from(`\0kuvert/value/v1\0${context}`, 'utf8')]);
}

/** The separator is NUL, so a NUL inside a field could make two field lists read alike. */
function assertLabel(value: string, name: string): void {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) {
    throw new TypeError(`${name} must be a non-empty string without NUL characters`);
  }
}

function wrapDataKey(
  dataKey: Buffer,
  documentId: string,
  keyVersion: number,
  masterKeys: MasterKeys,
): Buffer {
  const key = derivedKey(masterKeys, keyVersion, WRAP_KEY_INFO);
  const format = Buffer.from([WRAPPED_KEY_FORMAT]);
  return encrypt(key, wrappedKeyAad(documentId, keyVersion), dataKey, format);
}

function unwrapDataKey(
  wrappedKey: Buffer,
  documentId: string,
  keyVersion: number,
  masterKeys: MasterKeys,
): Buffer {
  const key = derivedKey(masterKeys, keyVersion, WRAP_KEY_INFO);
  const format = Buffer.from([WRAPPED_KEY_FORMAT]);
  const dataKey = decrypt(key, wrappedKeyAad(documentId, keyVersion), wrappedKey, format);
  if (dataKey === undefined || dataKey.length !== KEY_BYTES) throw new DocumentIntegrityError();
  return dataKey;
}

/** prefix + nonce + encrypted + tag, with the prefix also authenticated. */
function encrypt(key: Buffer, aad: Buffer, plaintext: Buffer, prefix: Buffer): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([prefix, aad]));
  const encrypted = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([prefix, nonce, encrypted, cipher.getAuthTag()]);
}

/** The inverse of `encrypt`; undefined when the prefix, the length or the tag is wrong. */
function decrypt(key: Buffer, aad: Buffer, sealed: Buffer, prefix: Buffer): Buffer | undefined {
  if (!Buffer.isBuffer(sealed) || sealed.length < prefix.length + NONCE_BYTES + TAG_BYTES) {
    return undefined;
  }
  if (!sealed.subarray(0, prefix.length).equals(prefix)) return undefined;
  const nonce = sealed.subarray(prefix.length, prefix.length + NONCE_BYTES);
  const encrypted = sealed.subarray(prefix.length + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.concat([prefix, aad]));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(encrypted), decipher.final()]);
  } catch {
    return undefined;
  }
}

function sha256(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest();
}

function hashMatches(plaintext: Buffer, expected: Buffer): boolean {
  if (!Buffer.isBuffer(expected) || expected.length !== SHA256_BYTES) return false;
  return timingSafeEqual(sha256(plaintext), expected);
}

/** Derived keys per master key buffer and purpose; HKDF once, not per document. */
const derivedKeys = new WeakMap<Buffer, Map<string, Buffer>>();

/**
 * HKDF-SHA-256 (RFC 5869) of the master key version for one purpose. An unknown version is
 * an operator problem (a key file replaced or trimmed), reported as such, not as tampering.
 */
function derivedKey(masterKeys: MasterKeys, version: number, info: string): Buffer {
  const masterKey = masterKeys.keys.get(version);
  if (masterKey === undefined) {
    throw new MasterKeyError(
      `Master key version ${version} is not loaded; documents wrapped under it cannot be opened until it is restored`,
    );
  }
  let byPurpose = derivedKeys.get(masterKey);
  if (byPurpose === undefined) {
    byPurpose = new Map();
    derivedKeys.set(masterKey, byPurpose);
  }
  let key = byPurpose.get(info);
  if (key === undefined) {
    key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), info, KEY_BYTES));
    byPurpose.set(info, key);
  }
  return key;
}
