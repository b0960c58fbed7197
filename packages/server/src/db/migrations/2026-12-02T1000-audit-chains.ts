import { type Kysely, sql } from 'kysely';

/**
 * The audit log becomes keyed and parallel (docs/decisions/0010-audit-chain.md):
 *
 * - Each new entry belongs to one of 64 chains (chosen by a hash of the mailbox or subject it
 *   concerns), numbered 1, 2, 3… within its chain, and carries an HMAC made with a key
 *   derived from the master key version recorded in `key_version`.
 * - `audit_chain_heads` holds each chain's newest entry. Appending locks only that chain's row,
 *   so appends to different chains never wait for each other.
 * - Entries written before this migration keep their columns empty and stay verifiable as
 *   they were (the "legacy" chain: unkeyed SHA-256, in `seq` order); the first signed
 *   checkpoint then anchors their end. New rows must name a chain, so nothing can be added
 *   to the legacy chain any more.
 */
const auditChainCount = 64;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table audit_log
      add column chain smallint,
      add column chain_seq bigint,
      add column key_version integer;
    alter table audit_log add constraint audit_log_keyed
      check (chain is not null and chain_seq is not null and key_version is not null) not valid;
    create unique index audit_log_chain_seq on audit_log (chain, chain_seq);
    -- A MAC is unique by construction; an index of random bytes only made every append dearer.
    alter table audit_log drop constraint audit_log_hash_key;
  `.execute(db);

  await db.schema
    .createTable('audit_chain_heads')
    .addColumn('chain', 'smallint', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'bytea', (c) => c.notNull())
    .execute();
  await sql`
    insert into audit_chain_heads (chain, seq, hash)
      select chain, 0, ${Buffer.alloc(32)} from generate_series(0, ${auditChainCount - 1}) as chain
  `.execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Kuvert migrations are forward-only');
}
