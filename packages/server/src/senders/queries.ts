import type { JsonWebKey } from 'node:crypto';
import { type RawBuilder, sql } from 'kysely';
import type pg from 'pg';
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

/**
 * Record a nonce, in the same statement checking that the key is still active: a key revoked
 * on another server is refused here even while this server's key cache still holds it.
 */
export async function insertSignatureNonce(
  db: Executor,
  entry: { keyId: string; nonce: string; expiresAt: Date },
): Promise<{ keyActive: boolean; nonceFresh: boolean }> {
  const result = await sql<{ key_active: boolean; nonce_fresh: boolean }>`
    with active_key as (
      ${activeKeyQuery(entry.keyId)}
    ), nonce as (
      insert into signature_nonces (key_id, nonce, expires_at)
      select ${entry.keyId}, ${entry.nonce}, ${entry.expiresAt}::timestamptz from active_key
      on conflict do nothing
      returning 1
    )
    select exists (select 1 from active_key) as key_active, exists (select 1 from nonce) as nonce_fresh
  `.execute(db);
  const row = result.rows[0];
  return { keyActive: row?.key_active === true, nonceFresh: row?.nonce_fresh === true };
}

/** `select 1 …` when the key exists and is not revoked: for statements that record a nonce. */
export function activeKeyQuery(keyId: string): RawBuilder<{ '?column?': number }> {
  return sql`select 1 from sender_keys where key_id = ${keyId} and revoked_at is null`;
}

/** Whether a key used a nonce before; a lookup only (the request records it later). */
export async function isSignatureNonceUsed(db: Executor, keyId: string, nonce: string) {
  const row = await db
    .selectFrom('signature_nonces')
    .select('nonce')
    .where('key_id', '=', keyId)
    .where('nonce', '=', nonce)
    .executeTakeFirst();
  return row !== undefined;
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

/** The channel on which every server hears that a sender key was revoked. */
const keyRevokedChannel = 'kuvert_sender_key_revoked';

/**
 * Tell every server that a key was revoked. NOTIFY is delivered when the transaction commits,
 * and not at all when it rolls back, so call it inside the revoking transaction.
 */
export async function notifySenderKeyRevoked(db: Executor, keyId: string) {
  // The payload is for logs only (a listener forgets every cached key); NOTIFY caps it at 8000 bytes.
  await sql`select pg_notify(${keyRevokedChannel}, ${keyId.slice(0, 200)})`.execute(db);
}

/** Start hearing revocations on a dedicated connection; `onRevoked` runs for each one. */
export async function listenForSenderKeyRevocations(
  client: pg.Client,
  onRevoked: (keyId: string) => void,
) {
  client.on('notification', (message) => {
    if (message.channel === keyRevokedChannel) onRevoked(message.payload ?? '');
  });
  await client.query(`listen ${keyRevokedChannel}`);
}
