import type { JsonWebKey } from 'node:crypto';
import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import type { SignatureAlgorithm } from '../db/schema.js';

export async function insertSender(db: Executor, sender: { id: string; name: string }) {
  await db.insertInto('senders').values(sender).execute();
}

export async function findSenderByName(db: Executor, name: string) {
  return db.selectFrom('senders').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findSenderById(db: Executor, id: string) {
  return db.selectFrom('senders').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertSenderKey(
  db: Executor,
  key: { keyId: string; senderId: string; algorithm: SignatureAlgorithm; publicJwk: JsonWebKey },
) {
  await db
    .insertInto('sender_keys')
    .values({
      key_id: key.keyId,
      sender_id: key.senderId,
      algorithm: key.algorithm,
      public_jwk: JSON.stringify(key.publicJwk),
    })
    .execute();
}

/** An active (not revoked) key by its key id. */
export async function findActiveSenderKey(db: Executor, keyId: string) {
  return db
    .selectFrom('sender_keys')
    .select(['key_id', 'sender_id', 'algorithm', 'public_jwk'])
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
}

export async function listSenders(db: Executor) {
  return db
    .selectFrom('senders')
    .leftJoin('sender_keys', 'sender_keys.sender_id', 'senders.id')
    .select([
      'senders.id',
      'senders.name',
      'senders.created_at',
      'sender_keys.key_id',
      'sender_keys.algorithm',
      'sender_keys.revoked_at',
    ])
    .orderBy('senders.created_at')
    .execute();
}

/** Record a nonce; false when the same key used it before (a replay). */
export async function insertSignatureNonce(
  db: Executor,
  entry: { keyId: string; nonce: string; expiresAt: Date },
): Promise<boolean> {
  const inserted = await db
    .insertInto('signature_nonces')
    .values({ key_id: entry.keyId, nonce: entry.nonce, expires_at: entry.expiresAt })
    .onConflict((conflict) => conflict.doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

export async function deleteExpiredSignatureNonces(db: Executor, now: Date) {
  await db.deleteFrom('signature_nonces').where('expires_at', '<', now).execute();
}

export async function revokeSenderKey(db: Executor, keyId: string) {
  const result = await db
    .updateTable('sender_keys')
    .set({ revoked_at: sql`now()` })
    .where('key_id', '=', keyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
