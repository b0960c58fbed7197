import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import type { Insertable } from 'kysely';
import type { DocumentsTable, NewLetter } from '../db/schema.js';

export async function findLetterBySenderMessageId(db: Executor, senderId: string, messageId: string) {
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

/**
 * Insert the letter and its document in one statement (a data-modifying CTE): one round
 * trip, and no document without its letter. A letter whose (sender, messageId) exists already
 * inserts nothing and returns undefined.
 */
export async function insertLetterWithDocument(
  tx: Executor,
  letter: NewLetter,
  document: Omit<Insertable<DocumentsTable>, 'mailbox_id' | 'letter_id'>,
) {
  const inserted = await tx
    .with('letter', (db) =>
      db
        .insertInto('letters')
        .values(letter)
        .onConflict((conflict) => conflict.columns(['sender_id', 'message_id']).doNothing())
        .returningAll(),
    )
    .insertInto('documents')
    .columns([
      'mailbox_id',
      'letter_id',
      'id',
      'filename',
      'content_type',
      'size_bytes',
      'page_count',
      'sha256',
      'blob_key',
      'wrapped_key',
      'key_version',
    ])
    .expression((eb) =>
      eb
        .selectFrom('letter')
        .select([
          'letter.mailbox_id',
          'letter.id',
          eb.val(document.id).as('document_id'),
          eb.val(document.filename).as('filename'),
          eb.val(document.content_type).as('content_type'),
          eb.val(document.size_bytes).as('size_bytes'),
          eb.val(document.page_count).as('page_count'),
          eb.val(document.sha256).as('sha256'),
          eb.val(document.blob_key).as('blob_key'),
          eb.val(document.wrapped_key).as('wrapped_key'),
          eb.val(document.key_version).as('key_version'),
        ]),
    )
    .returning('documents.id')
    .executeTakeFirst();
  return inserted !== undefined;
}

const inboxColumns = [
  'letters.id',
  'letters.subject',
  'letters.delivered_at',
  'letters.read_at',
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

export async function listDocumentsForLetters(db: Executor, mailboxId: string, letterIds: string[]) {
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
    .selectAll()
    .where('mailbox_id', '=', mailboxId)
    .where('letter_id', '=', letterId)
    .where('id', '=', documentId)
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
