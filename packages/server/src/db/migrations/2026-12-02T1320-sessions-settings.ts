import { type Kysely, sql } from 'kysely';

/**
 * Sessions and settings: the personal anti-phishing phrase (sealed, like other
 * personal data), and an index for the owner's list of sessions and login history.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('mailboxes').addColumn('anti_phishing_sealed', 'bytea').execute();
  // The login history reads a mailbox's newest audit entries; without this, the whole log.
  await sql`create index audit_log_subject_at_idx on audit_log (subject, at desc)`.execute(db);
}
