import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

export interface AuditEntryInput {
  at: Date;
  actor: string;
  action: string;
  subject: string | null;
  details: Record<string, unknown>;
  prevHash: Buffer;
  hash: Buffer;
}

/**
 * Serialise appends with a transaction-scoped advisory lock so the chain has one order;
 * the lock is held until the caller's transaction ends.
 */
export async function lockAuditChain(tx: Executor): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('kuvert.audit_log'))`.execute(tx);
}

export async function findLastAuditHash(tx: Executor): Promise<Buffer | undefined> {
  const row = await tx
    .selectFrom('audit_log')
    .select('hash')
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row?.hash;
}

export async function insertAuditEntry(tx: Executor, entry: AuditEntryInput): Promise<void> {
  await tx
    .insertInto('audit_log')
    .values({
      at: entry.at,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details: JSON.stringify(entry.details),
      prev_hash: entry.prevHash,
      hash: entry.hash,
    })
    .execute();
}

export async function listAuditEntries(db: Executor) {
  return db.selectFrom('audit_log').selectAll().orderBy('seq', 'asc').execute();
}

/** The newest entries about one subject with one of the given actions (a login history). */
export async function listAuditEntriesAbout(
  db: Executor,
  options: { subject: string; actions: readonly string[]; limit: number },
) {
  return db
    .selectFrom('audit_log')
    .select(['at', 'action', 'details'])
    .where('subject', '=', options.subject)
    .where('action', 'in', options.actions)
    .orderBy('at', 'desc')
    .limit(options.limit)
    .execute();
}
