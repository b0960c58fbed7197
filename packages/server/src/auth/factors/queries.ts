import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/*
 * The login factors a recipient manages: passphrase, TOTP enrolment and recovery codes.
 * Times use the database's clock (now()), like the sessions, so servers need not agree.
 */

/** What the factor services need to know about a mailbox; never leaves the server. */
export async function findFactorState(db: Executor, mailboxId: string) {
  return db
    .selectFrom('mailboxes')
    .select([
      'id',
      'email',
      'national_id_sealed',
      'password_hash',
      'totp_secret_sealed',
      sql<boolean>`totp_pending_sealed is not null and totp_pending_expires_at > now()`.as(
        'totp_pending',
      ),
    ])
    .where('id', '=', mailboxId)
    .executeTakeFirst();
}

export async function setPasswordHash(
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

/** End every other live session of the mailbox (after a passphrase change); returns how many. */
export async function revokeOtherSessions(
  db: Executor,
  mailboxId: string,
  keepSessionId: Buffer,
): Promise<number> {
  const rows = await db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()` })
    .where('mailbox_id', '=', mailboxId)
    .where('id', '!=', keepSessionId)
    .where('revoked_at', 'is', null)
    .returning(['id'])
    .execute();
  return rows.length;
}

// ---------------------------------------------------------------------------------------
// TOTP enrolment

export async function storePendingTotp(
  db: Executor,
  mailboxId: string,
  sealed: Buffer,
  lifetimeSeconds: number,
): Promise<void> {
  await db
    .updateTable('mailboxes')
    .set({
      totp_pending_sealed: sealed,
      totp_pending_expires_at: sql<Date>`now() + make_interval(secs => ${lifetimeSeconds})`,
    })
    .where('id', '=', mailboxId)
    .execute();
}

export async function findPendingTotp(db: Executor, mailboxId: string) {
  return db
    .selectFrom('mailboxes')
    .select(['totp_pending_sealed', 'totp_secret_sealed'])
    .where('id', '=', mailboxId)
    .where('totp_pending_sealed', 'is not', null)
    .where('totp_pending_expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

/**
 * Make the pending secret the active one, with the confirming code's step as the last used,
 * so that code cannot log in a second time. Conditional on the pending secret being the one
 * that was checked, so two confirmations racing cannot activate a secret nobody confirmed.
 */
export async function activatePendingTotp(
  db: Executor,
  mailboxId: string,
  confirmed: Buffer,
  step: number,
): Promise<boolean> {
  const result = await db
    .updateTable('mailboxes')
    .set({
      totp_secret_sealed: confirmed,
      totp_last_step: step,
      totp_pending_sealed: null,
      totp_pending_expires_at: null,
    })
    .where('id', '=', mailboxId)
    .where('totp_pending_sealed', '=', confirmed)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

// ---------------------------------------------------------------------------------------
// Recovery codes

/** Replace the whole set: the old codes stop working in the same transaction. */
export async function replaceRecoveryCodes(
  db: Executor,
  mailboxId: string,
  codeHashes: Buffer[],
): Promise<void> {
  await db.deleteFrom('recovery_codes').where('mailbox_id', '=', mailboxId).execute();
  await db
    .insertInto('recovery_codes')
    .values(codeHashes.map((code_hash) => ({ mailbox_id: mailboxId, code_hash })))
    .execute();
}

/** Spend a code: one conditional update, so two logins racing with it cannot both succeed. */
export async function claimRecoveryCode(
  db: Executor,
  mailboxId: string,
  codeHash: Buffer,
): Promise<boolean> {
  const result = await db
    .updateTable('recovery_codes')
    .set({ used_at: sql<Date>`now()` })
    .where('mailbox_id', '=', mailboxId)
    .where('code_hash', '=', codeHash)
    .where('used_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

export async function countUnusedRecoveryCodes(db: Executor, mailboxId: string): Promise<number> {
  const row = await db
    .selectFrom('recovery_codes')
    .select(sql<string>`count(*)`.as('unused'))
    .where('mailbox_id', '=', mailboxId)
    .where('used_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.unused);
}
