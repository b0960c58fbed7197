import { type Insertable, type RawBuilder, sql } from 'kysely';
import type { Executor } from '../db/database.js';
import type { MailboxesTable } from '../db/schema.js';

/** What other modules may learn about a mailbox: never the sealed columns or the hash. */
const publicColumns = ['id', 'email', 'language'] as const;

export async function insertMailbox(db: Executor, row: Insertable<MailboxesTable>): Promise<void> {
  await db.insertInto('mailboxes').values(row).execute();
}

export async function findMailboxById(db: Executor, id: string) {
  return db.selectFrom('mailboxes').select(publicColumns).where('id', '=', id).executeTakeFirst();
}

/** Only the login check reads the password hash and the sealed TOTP secret. */
export async function findLoginCredentials(db: Executor, nationalIdHash: Buffer) {
  return db
    .selectFrom('mailboxes')
    .select(['id', 'language', 'password_hash', 'totp_secret_sealed'])
    .where('national_id_hash', '=', nationalIdHash)
    .executeTakeFirst();
}

/**
 * Record an accepted TOTP time step, only if it is newer than the last one. One conditional
 * update, so two servers racing with the same code cannot both accept it (RFC 6238 §5.2:
 * the verifier must not accept the second attempt of the same OTP). False means a replay.
 */
export async function claimTotpStep(
  db: Executor,
  mailboxId: string,
  step: number,
): Promise<boolean> {
  const result = await db
    .updateTable('mailboxes')
    .set({ totp_last_step: step })
    .where('id', '=', mailboxId)
    .where((eb) =>
      eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', sql<string>`${step}`)]),
    )
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function updatePasswordHash(
  db: Executor,
  mailboxId: string,
  passwordHash: string,
): Promise<void> {
  await db
    .updateTable('mailboxes')
    .set({ password_hash: passwordHash })
    .where('id', '=', mailboxId)
    .execute();
}

/**
 * The mailbox of a recipient as a SQL query (`select id …`), for a statement that finds the
 * mailbox and acts on it in one round trip (letter ingest).
 */
export function mailboxIdQuery(
  recipient: { nationalIdHash: Buffer } | { email: string },
): RawBuilder<{ id: string }> {
  return 'nationalIdHash' in recipient
    ? sql<{
        id: string;
      }>`select id from mailboxes where national_id_hash = ${recipient.nationalIdHash}`
    : sql<{
        id: string;
      }>`select id from mailboxes where lower(email) = ${recipient.email.trim().toLowerCase()}`;
}

/** Whether any mailbox exists: data that keys made now could never open. */
export async function anyMailboxExists(db: Executor): Promise<boolean> {
  return (await db.selectFrom('mailboxes').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** The sealed anti-phishing phrase of a mailbox (null when none is set). */
export async function findAntiPhishingPhrase(db: Executor, mailboxId: string) {
  return db
    .selectFrom('mailboxes')
    .select('anti_phishing_sealed')
    .where('id', '=', mailboxId)
    .executeTakeFirst();
}

export async function updateAntiPhishingPhrase(
  db: Executor,
  mailboxId: string,
  sealed: Buffer | null,
): Promise<void> {
  await db
    .updateTable('mailboxes')
    .set({ anti_phishing_sealed: sealed })
    .where('id', '=', mailboxId)
    .execute();
}
