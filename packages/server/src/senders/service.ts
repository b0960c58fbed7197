import type { JsonWebKey } from 'node:crypto';
import { createPublicKey, randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { Db, Executor } from '../db/database.js';
import type { SignatureAlgorithm } from '../db/schema.js';
import { KuvertError } from '../errors.js';
import { assertSafeText } from '../safe-text.js';
import type { SignatureNonce } from './http-signatures.js';
import {
  activeKeyQuery,
  findActiveSenderKey,
  findSenderById,
  findSenderByName,
  insertSender,
  insertSenderKey,
  insertSignatureNonce,
  isSignatureNonceUsed as isNonceRecorded,
  notifySenderKeyRevoked,
  revokeSenderKey,
} from './queries.js';

export async function createSender(options: {
  db: Db;
  keys: AppContext['keys'];
  name: string;
  actor: string;
}) {
  const name = options.name.trim();
  // The name is shown to every recipient of the sender's letters.
  assertSafeText('name', name);
  if (name.length < 2 || name.length > 200) {
    throw new KuvertError('validation_failed', 'A sender name has 2 to 200 characters.');
  }
  const id = randomUUID();
  if (await findSenderByName(options.db, name)) {
    throw new KuvertError('validation_failed', `A sender named "${name}" exists already.`);
  }
  await options.db.transaction().execute(async (tx) => {
    await insertSender(tx, { id, name });
    await appendAuditEvent(tx, options.keys, {
      actor: options.actor,
      action: 'sender.created',
      subject: id,
      details: { name },
    });
  });
  return { id, name };
}

/** Which signature algorithm a public JWK is for; anything else is refused. */
export function algorithmOfJwk(jwk: JsonWebKey): SignatureAlgorithm {
  if ('d' in jwk) {
    throw new KuvertError(
      'validation_failed',
      'Register the public key only: this JWK contains the private key.',
    );
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && jwk.x) return 'ed25519';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && jwk.x && jwk.y) return 'ecdsa-p256-sha256';
  throw new KuvertError(
    'validation_failed',
    'A sender key is an Ed25519 (OKP) or ECDSA P-256 (EC) public JWK.',
  );
}

/** Register a sender's public key (Ed25519 or ECDSA P-256). The key id is the JWK's kid or a new one. */
export async function registerSenderKey(options: {
  db: Db;
  keys: AppContext['keys'];
  senderId: string;
  publicJwk: JsonWebKey & { kid?: string };
  actor: string;
}) {
  const algorithm = algorithmOfJwk(options.publicJwk);
  try {
    createPublicKey({ key: options.publicJwk, format: 'jwk' });
  } catch {
    throw new KuvertError('validation_failed', 'The JWK is not a valid public key.');
  }
  if (!(await findSenderById(options.db, options.senderId))) {
    throw new KuvertError('not_found', 'No sender with this id.');
  }
  const keyId = options.publicJwk.kid ?? `key-${randomUUID()}`;
  const { kty, crv, x, y } = options.publicJwk;
  const publicJwk = { kty, crv, x, ...(y ? { y } : {}), kid: keyId };
  await options.db.transaction().execute(async (tx) => {
    if (await findActiveSenderKey(tx, keyId)) {
      throw new KuvertError('validation_failed', `A key with id ${keyId} is already registered.`);
    }
    await insertSenderKey(tx, { keyId, senderId: options.senderId, algorithm, publicJwk });
    await appendAuditEvent(tx, options.keys, {
      actor: options.actor,
      action: 'sender.key_added',
      subject: options.senderId,
      details: { keyId, algorithm },
    });
  });
  return { keyId, algorithm };
}

/**
 * Record a verified request's nonce. `keyActive` false: the key was revoked after this server
 * cached it; `nonceFresh` false: a replay.
 */
export function consumeSignatureNonce(db: Executor, nonce: SignatureNonce) {
  return insertSignatureNonce(db, nonce);
}

/** The key as a query, for a statement that records a nonce only while the key is active. */
export function activeSenderKeyQuery(keyId: string) {
  return activeKeyQuery(keyId);
}

export function isSignatureNonceUsed(db: Executor, keyId: string, nonce: string) {
  return isNonceRecorded(db, keyId, nonce);
}

/**
 * Revoke a key. Every server hears it when the transaction commits (NOTIFY) and forgets its
 * cached keys; see `SenderKeyDirectory`.
 */
export async function revokeKey(options: {
  db: Db;
  keys: AppContext['keys'];
  keyId: string;
  actor: string;
}) {
  await options.db.transaction().execute(async (tx) => {
    if (!(await revokeSenderKey(tx, options.keyId))) {
      throw new KuvertError('not_found', 'No active key with this id.');
    }
    await appendAuditEvent(tx, options.keys, {
      actor: options.actor,
      action: 'sender.key_revoked',
      subject: options.keyId,
    });
    await notifySenderKeyRevoked(tx, options.keyId);
  });
}
