import { type Kysely, sql } from 'kysely';

/**
 * Login factors a recipient manages: a mailbox made by eID registration
 * starts without a passphrase or TOTP secret, a TOTP enrolment waits for its first code before
 * it replaces the active secret, recovery codes stand in for the TOTP, and passkeys
 * (WebAuthn) log in without a passphrase.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  // Dropping NOT NULL twice is harmless: the eID registration migration may do it too.
  await sql`alter table mailboxes alter column password_hash drop not null`.execute(db);
  await sql`alter table mailboxes alter column totp_secret_sealed drop not null`.execute(db);
  await db.schema
    .alterTable('mailboxes')
    // A new TOTP secret shown to the person, active only once a first code proves it arrived.
    .addColumn('totp_pending_sealed', 'bytea')
    .addColumn('totp_pending_expires_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('mailbox_id', 'uuid', (c) =>
      c.notNull().references('mailboxes.id').onDelete('cascade'),
    )
    // HMAC-SHA-256 under the lookup key: a copy of the table cannot be brute-forced offline.
    .addColumn('code_hash', 'bytea', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('used_at', 'timestamptz')
    .addPrimaryKeyConstraint('recovery_codes_pkey', ['mailbox_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('passkeys')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('mailbox_id', 'uuid', (c) =>
      c.notNull().references('mailboxes.id').onDelete('cascade'),
    )
    // base64url, as the browser reports it; unique across mailboxes (WebAuthn §6.1).
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    .addColumn('public_key', 'bytea', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('device_type', 'text', (c) =>
      c.notNull().check(sql`device_type in ('singleDevice', 'multiDevice')`),
    )
    .addColumn('backed_up', 'boolean', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('passkeys_mailbox_idx').on('passkeys').column('mailbox_id').execute();

  // WebAuthn challenges: single use (deleted when used) and short-lived.
  await db.schema
    .createTable('webauthn_challenges')
    .addColumn('challenge', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) =>
      c.notNull().check(sql`purpose in ('registration', 'authentication')`),
    )
    // The mailbox a registration is for; null for a passwordless login, which names nobody.
    .addColumn('mailbox_id', 'uuid', (c) => c.references('mailboxes.id').onDelete('cascade'))
    // The client's address (IPv6: its /64), so one client cannot fill the table with login
    // challenges; null for registrations, which need a session.
    .addColumn('client', 'text')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('webauthn_challenges_client_idx')
    .on('webauthn_challenges')
    .columns(['client', 'expires_at'])
    .where(sql.ref('client'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('webauthn_challenges_expiry_idx')
    .on('webauthn_challenges')
    .column('expires_at')
    .execute();
}
