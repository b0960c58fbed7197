import { type Kysely, sql } from 'kysely';

/**
 * The foundation: senders and their keys, mailboxes, letters and documents, sessions,
 * login attempts and the audit log. Letter tables lead with mailbox_id in their keys so
 * that they can later be distributed by it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('senders')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('sender_keys')
    .addColumn('key_id', 'text', (c) => c.primaryKey())
    .addColumn('sender_id', 'uuid', (c) => c.notNull().references('senders.id'))
    .addColumn('algorithm', 'text', (c) =>
      c.notNull().check(sql`algorithm in ('ed25519', 'ecdsa-p256-sha256')`),
    )
    .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();

  // Nonces of accepted sender signatures, kept until the signature would be stale anyway.
  await db.schema
    .createTable('signature_nonces')
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('nonce', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('signature_nonces_pkey', ['key_id', 'nonce'])
    .execute();
  await db.schema
    .createIndex('signature_nonces_expiry_idx')
    .on('signature_nonces')
    .column('expires_at')
    .execute();

  await db.schema
    .createTable('mailboxes')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('national_id_hash', 'bytea', (c) => c.notNull().unique())
    .addColumn('national_id_sealed', 'bytea', (c) => c.notNull())
    .addColumn('email', 'text')
    .addColumn('language', 'text', (c) => c.notNull().check(sql`language in ('nb', 'nn', 'en')`))
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('totp_secret_sealed', 'bytea', (c) => c.notNull())
    .addColumn('totp_last_step', 'bigint')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index mailboxes_email_key on mailboxes (lower(email))`.execute(db);

  await db.schema
    .createTable('letters')
    .addColumn('mailbox_id', 'uuid', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('id', 'uuid', (c) => c.notNull().unique())
    .addColumn('sender_id', 'uuid', (c) => c.notNull().references('senders.id'))
    .addColumn('message_id', 'uuid', (c) => c.notNull())
    .addColumn('submission_hash', 'bytea', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('delivered_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('notified_at', 'timestamptz')
    .addColumn('read_at', 'timestamptz')
    .addPrimaryKeyConstraint('letters_pkey', ['mailbox_id', 'id'])
    .addUniqueConstraint('letters_sender_message_key', ['sender_id', 'message_id'])
    .execute();
  await sql`create index letters_inbox_idx on letters (mailbox_id, delivered_at desc, id)`.execute(
    db,
  );

  await db.schema
    .createTable('documents')
    .addColumn('mailbox_id', 'uuid', (c) => c.notNull())
    .addColumn('letter_id', 'uuid', (c) => c.notNull())
    .addColumn('id', 'uuid', (c) => c.notNull().unique())
    .addColumn('filename', 'text', (c) => c.notNull())
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('size_bytes', 'integer', (c) => c.notNull())
    .addColumn('page_count', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'bytea', (c) => c.notNull())
    .addColumn('blob_key', 'text', (c) => c.notNull())
    .addColumn('wrapped_key', 'bytea', (c) => c.notNull())
    .addColumn('key_version', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('documents_pkey', ['mailbox_id', 'letter_id', 'id'])
    .addForeignKeyConstraint('documents_letter_fkey', ['mailbox_id', 'letter_id'], 'letters', [
      'mailbox_id',
      'id',
    ])
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'bytea', (c) => c.primaryKey())
    .addColumn('mailbox_id', 'uuid', (c) => c.notNull().references('mailboxes.id'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    .addColumn('auth_level', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('sessions_mailbox_idx').on('sessions').column('mailbox_id').execute();

  await db.schema
    .createTable('login_attempts')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('succeeded', 'boolean', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('login_attempts_bucket_idx')
    .on('login_attempts')
    .columns(['bucket', 'at'])
    .execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text')
    .addColumn('details', 'jsonb', (c) => c.notNull())
    .addColumn('prev_hash', 'bytea', (c) => c.notNull())
    .addColumn('hash', 'bytea', (c) => c.notNull().unique())
    .execute();
  // Append-only: the database itself refuses to edit or delete an entry.
  await sql`
    create function audit_log_append_only() returns trigger language plpgsql as $$
    begin
      raise exception 'audit_log is append-only';
    end $$;
    create trigger audit_log_no_update before update or delete or truncate on audit_log
      for each statement execute function audit_log_append_only();
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Kuvert migrations are forward-only');
}
