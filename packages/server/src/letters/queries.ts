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

export async function insertLetterWithDocument(
  tx: Executor,
  letter: NewLetter,
  document: Insertable<DocumentsTable>,
) {
  const inserted = await tx
    .insertInto('letters')
    .values(letter)
    .onConflict((conflict) => conflict.columns(['sender_id', 'message_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) return undefined;
  await tx.insertInto('documents').values(document).execute();
  return inserted;
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
