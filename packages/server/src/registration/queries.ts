import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

export type ContactChannel = 'email' | 'phone';

/** A new code replaces any earlier one for the same mailbox and channel. */
export async function upsertContactVerification(
  db: Executor,
  row: {
    mailboxId: string;
    channel: ContactChannel;
    address: string;
    codeHash: Buffer;
    ttlSeconds: number;
  },
): Promise<void> {
  await db
    .insertInto('contact_verifications')
    .values({
      mailbox_id: row.mailboxId,
      channel: row.channel,
      address: row.address,
      code_hash: row.codeHash,
      attempts: 0,
      expires_at: sql`now() + make_interval(secs => ${row.ttlSeconds})`,
    })
    .onConflict((conflict) =>
      conflict.columns(['mailbox_id', 'channel']).doUpdateSet((eb) => ({
        address: eb.ref('excluded.address'),
        code_hash: eb.ref('excluded.code_hash'),
        attempts: 0,
        expires_at: eb.ref('excluded.expires_at'),
      })),
    )
    .execute();
}

/** Count one attempt and return the row as it was, if a live one exists. */
export async function countContactAttempt(
  db: Executor,
  mailboxId: string,
  channel: ContactChannel,
) {
  return db
    .updateTable('contact_verifications')
    .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
    .where('mailbox_id', '=', mailboxId)
    .where('channel', '=', channel)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['address', 'code_hash', 'attempts'])
    .executeTakeFirst();
}

export async function deleteContactVerification(
  db: Executor,
  mailboxId: string,
  channel: ContactChannel,
): Promise<void> {
  await db
    .deleteFrom('contact_verifications')
    .where('mailbox_id', '=', mailboxId)
    .where('channel', '=', channel)
    .execute();
}

export async function pendingContactAddresses(db: Executor, mailboxId: string) {
  return db
    .selectFrom('contact_verifications')
    .select(['channel', 'address'])
    .where('mailbox_id', '=', mailboxId)
    .where('expires_at', '>', sql<Date>`now()`)
    .execute();
}

export async function findContactDetails(db: Executor, mailboxId: string) {
  return db
    .selectFrom('mailboxes')
    .select(['email', 'phone', 'phone_verified_at', 'language'])
    .where('id', '=', mailboxId)
    .executeTakeFirst();
}

/** Whether another mailbox has this email address (letters are addressed by it). */
export async function emailTakenByAnother(db: Executor, mailboxId: string, email: string) {
  const row = await db
    .selectFrom('mailboxes')
    .select('id')
    .where(sql<string>`lower(email)`, '=', email)
    .where('id', '<>', mailboxId)
    .executeTakeFirst();
  return row !== undefined;
}

export async function setVerifiedEmail(db: Executor, mailboxId: string, email: string) {
  await db.updateTable('mailboxes').set({ email }).where('id', '=', mailboxId).execute();
}

/** The phone is stored at once, unverified; it is used only once verified. */
export async function setUnverifiedPhone(db: Executor, mailboxId: string, phone: string) {
  await db
    .updateTable('mailboxes')
    .set({ phone, phone_verified_at: null })
    .where('id', '=', mailboxId)
    .execute();
}

export async function markPhoneVerified(db: Executor, mailboxId: string, phone: string) {
  await db
    .updateTable('mailboxes')
    .set({ phone_verified_at: sql`now()` })
    .where('id', '=', mailboxId)
    .where('phone', '=', phone)
    .execute();
}

export async function setMailboxLanguage(
  db: Executor,
  mailboxId: string,
  language: 'nb' | 'nn' | 'en',
) {
  await db.updateTable('mailboxes').set({ language }).where('id', '=', mailboxId).execute();
}
