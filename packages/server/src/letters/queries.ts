import type { Insertable } from 'kysely';
import { type RawBuilder, sql } from 'kysely';
import type { AuthLevel } from '../auth/levels.js';
import type { Executor } from '../db/database.js';
import type { DocumentsTable, NewLetter } from '../db/schema.js';

export async function findLetterBySenderMessageId(
  db: Executor,
  senderId: string,
  messageId: string,
) {
  return db
    .selectFrom('letters')
    .selectAll()
    .where('sender_id', '=', senderId)
    .where('message_id', '=', messageId)
    .executeTakeFirst();
}

/** A sender sees only its own letters: the sender id is part of the query. */
export async function findLetterForSender(db: Executor, senderId: string, letterId: string) {
  return db
    .selectFrom('letters')
    .selectAll()
    .where('sender_id', '=', senderId)
    .where('id', '=', letterId)
    .executeTakeFirst();
}

export interface LetterInsert {
  /** `select id from mailboxes where …`: the recipient, found in the same statement. */
  mailbox: RawBuilder<{ id: string }>;
  nonce: { keyId: string; nonce: string; expiresAt: Date };
  /** `select 1 …` when the signing key is still active: a key revoked meanwhile records nothing. */
  activeKey: RawBuilder<unknown>;
  letter: Omit<NewLetter, 'mailbox_id'> & { delivered_at: Date; auth_level: AuthLevel };
  document: Omit<Insertable<DocumentsTable>, 'mailbox_id' | 'letter_id' | 'created_at'>;
  /** Builds the notification job's insert: one job per row of `from`, with `payload` as data. */
  notification: (parts: {
    from: RawBuilder<unknown>;
    payload: RawBuilder<unknown>;
  }) => RawBuilder<unknown>;
}

/**
 * Find the mailbox, check that the signing key is still active, record the signature's nonce, insert the letter and its document and
 * enqueue the notification, in ONE statement: one round trip and one commit per letter, which
 * is what bounds ingest on a small machine (see docs/benchmarks.md). A nonce seen before
 * or a revoked key, inserts nothing; a (sender, messageId) seen before, or no such mailbox, inserts nothing but
 * the nonce.
 */
export async function insertLetterOnce(db: Executor, input: LetterInsert) {
  const { nonce, letter, document } = input;
  const result = await sql<{
    mailbox_found: boolean;
    key_active: boolean;
    nonce_fresh: boolean;
    inserted: boolean;
  }>`
    with mailbox as (
      ${input.mailbox}
    ), active_key as (
      ${input.activeKey}
    ), nonce as (
      insert into signature_nonces (key_id, nonce, expires_at)
      select ${nonce.keyId}, ${nonce.nonce}, ${nonce.expiresAt}::timestamptz from active_key
      on conflict do nothing
      returning 1
    ), letter as (
      insert into letters (mailbox_id, id, sender_id, message_id, submission_hash, subject, delivered_at, auth_level)
      select mailbox.id, ${letter.id}::uuid, ${letter.sender_id}::uuid, ${letter.message_id}::uuid,
        ${letter.submission_hash}::bytea, ${letter.subject}, ${letter.delivered_at}::timestamptz,
        ${letter.auth_level}
      from mailbox
      where exists (select 1 from nonce)
      on conflict (sender_id, message_id) do nothing
      returning mailbox_id, id
    ), document as (
      insert into documents (mailbox_id, letter_id, id, filename, content_type, size_bytes, page_count,
        sha256, blob_key, wrapped_key, key_version)
      select letter.mailbox_id, letter.id, ${document.id}::uuid, ${document.filename}, ${document.content_type},
        ${document.size_bytes}::int, ${document.page_count}::int, ${document.sha256}::bytea, ${document.blob_key},
        ${document.wrapped_key}::bytea, ${document.key_version}::int
      from letter
      returning 1
    ), job as (
      ${input.notification({
        from: sql`letter`,
        payload: sql`jsonb_build_object('mailboxId', letter.mailbox_id, 'letterId', letter.id)`,
      })}
      returning 1
    )
    select exists (select 1 from mailbox) as mailbox_found,
      exists (select 1 from active_key) as key_active,
      exists (select 1 from nonce) as nonce_fresh,
      exists (select 1 from letter) as inserted
  `.execute(db);
  const row = result.rows[0];
  return {
    mailboxFound: row?.mailbox_found === true,
    keyActive: row?.key_active === true,
    nonceFresh: row?.nonce_fresh === true,
    inserted: row?.inserted === true,
  };
}

const inboxColumns = [
  'letters.id',
  'letters.subject',
  'letters.delivered_at',
  'letters.read_at',
  'letters.auth_level',
  'senders.name as sender_name',
] as const;

/** Every read below is scoped by the authenticated mailbox in the query itself (invariant 1). */
export async function listLettersForMailbox(db: Executor, mailboxId: string, limit: number) {
  return db
    .selectFrom('letters')
    .innerJoin('senders', 'senders.id', 'letters.sender_id')
    .select(inboxColumns)
    .where('letters.mailbox_id', '=', mailboxId)
    .orderBy('letters.delivered_at', 'desc')
    .orderBy('letters.id', 'desc')
    .limit(limit)
    .execute();
}

export async function findLetterForMailbox(db: Executor, mailboxId: string, letterId: string) {
  return db
    .selectFrom('letters')
    .innerJoin('senders', 'senders.id', 'letters.sender_id')
    .select(inboxColumns)
    .where('letters.mailbox_id', '=', mailboxId)
    .where('letters.id', '=', letterId)
    .executeTakeFirst();
}

export async function listDocumentsForLetters(
  db: Executor,
  mailboxId: string,
  letterIds: string[],
) {
  if (letterIds.length === 0) return [];
  return db
    .selectFrom('documents')
    .select(['letter_id', 'id', 'filename', 'content_type', 'size_bytes', 'page_count'])
    .where('mailbox_id', '=', mailboxId)
    .where('letter_id', 'in', letterIds)
    .orderBy('created_at')
    .execute();
}

export async function findDocumentForMailbox(
  db: Executor,
  mailboxId: string,
  letterId: string,
  documentId: string,
) {
  return db
    .selectFrom('documents')
    .innerJoin('letters', (join) =>
      join
        .onRef('letters.mailbox_id', '=', 'documents.mailbox_id')
        .onRef('letters.id', '=', 'documents.letter_id'),
    )
    .selectAll('documents')
    .select('letters.auth_level as letter_auth_level')
    .where('documents.mailbox_id', '=', mailboxId)
    .where('documents.letter_id', '=', letterId)
    .where('documents.id', '=', documentId)
    .executeTakeFirst();
}

/** Marks the letter read once; returns false when it is not in this mailbox. */
export async function markLetterRead(db: Executor, mailboxId: string, letterId: string) {
  const result = await db
    .updateTable('letters')
    .set({ read_at: sql`coalesce(read_at, now())` })
    .where('mailbox_id', '=', mailboxId)
    .where('id', '=', letterId)
    .returning(['read_at'])
    .executeTakeFirst();
  return result !== undefined;
}

/** Whether a document row exists, by id alone: for cleaning up after a failed ingest. */
export async function documentExists(db: Executor, documentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('documents')
    .select('id')
    .where('id', '=', documentId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Which of these blob keys a document row refers to. */
export async function findReferencedBlobKeys(
  db: Executor,
  blobKeys: string[],
): Promise<Set<string>> {
  if (blobKeys.length === 0) return new Set();
  const rows = await db
    .selectFrom('documents')
    .select('blob_key')
    .where('blob_key', 'in', blobKeys)
    .execute();
  return new Set(rows.map((row) => row.blob_key));
}
