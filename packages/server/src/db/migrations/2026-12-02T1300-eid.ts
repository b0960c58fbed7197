import { type Kysely, sql } from 'kysely';

/**
 * National eID login, registration and assurance levels.
 *
 * - A mailbox registered with eID has no passphrase and no TOTP until the person sets them:
 *   `password_hash` and `totp_secret_sealed` null mean "none set".
 * - Accepting the terms is recorded with its time and the terms version.
 * - The phone number is kept with the time it was verified (null: not verified, never used).
 * - A letter can demand an assurance level.
 * - eID logins in progress and registrations in progress are kept server-side, found by the
 *   SHA-256 of a random token in a cookie, and used once.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('mailboxes')
    .alterColumn('password_hash', (c) => c.dropNotNull())
    .alterColumn('totp_secret_sealed', (c) => c.dropNotNull())
    .addColumn('terms_version', 'text')
    .addColumn('terms_accepted_at', 'timestamptz')
    .addColumn('phone', 'text')
    .addColumn('phone_verified_at', 'timestamptz')
    .execute();

  await db.schema
    .alterTable('letters')
    .addColumn('auth_level', 'text', (c) =>
      c
        .notNull()
        .defaultTo('two-factor')
        .check(sql`auth_level in ('two-factor', 'eid-substantial', 'eid-high')`),
    )
    .execute();

  await db.schema
    .createTable('eid_logins')
    .addColumn('id', 'bytea', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('code_verifier', 'text', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text')
    // Set for a step-up: the session that asked, which the new one replaces.
    .addColumn('session_id', 'bytea')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('eid_logins_expiry_idx')
    .on('eid_logins')
    .column('expires_at')
    .execute();

  await db.schema
    .createTable('eid_registrations')
    .addColumn('id', 'bytea', (c) => c.primaryKey())
    .addColumn('national_id_sealed', 'bytea', (c) => c.notNull())
    .addColumn('level', 'text', (c) => c.notNull())
    .addColumn('return_to', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('eid_registrations_expiry_idx')
    .on('eid_registrations')
    .column('expires_at')
    .execute();

  // One pending address per mailbox and channel; the code is kept only as a keyed hash.
  await db.schema
    .createTable('contact_verifications')
    .addColumn('mailbox_id', 'uuid', (c) =>
      c.notNull().references('mailboxes.id').onDelete('cascade'),
    )
    .addColumn('channel', 'text', (c) => c.notNull().check(sql`channel in ('email', 'phone')`))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('code_hash', 'bytea', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('contact_verifications_pkey', ['mailbox_id', 'channel'])
    .execute();
}
