import { sql } from 'kysely';
import type { Executor } from '../db/database.js';

export interface ChainedEntryInput {
  chain: number;
  chainSeq: string;
  keyVersion: number;
  at: Date;
  actor: string;
  action: string;
  subject: string | null;
  details: Record<string, unknown>;
  prevHash: Buffer;
  hash: Buffer;
}

/**
 * Lock one chain's head row until the caller's transaction ends and return it. Appends to
 * the same chain queue here; appends to other chains lock other rows and do not wait.
 */
export async function lockChainHead(tx: Executor, chain: number) {
  return tx
    .selectFrom('audit_chain_heads')
    .select(['seq', 'hash'])
    .where('chain', '=', chain)
    .forUpdate()
    .executeTakeFirstOrThrow();
}

/**
 * Insert the entry and move its chain's head to it in one statement, but only if the head is
 * still `expected` (the entry's MAC was made on that guess). Returns whether it was appended.
 * The UPDATE locks the head row; a concurrent append that moved the head first makes the
 * condition false when it is re-checked after that lock, so nothing is inserted on a stale guess.
 */
export async function appendIfHeadIs(
  db: Executor,
  entry: ChainedEntryInput,
  expected: { seq: string; hash: Buffer },
): Promise<boolean> {
  const result = await sql<{ seq: string }>`
    with head as (
      update audit_chain_heads set seq = ${entry.chainSeq}, hash = ${entry.hash}
      where chain = ${entry.chain} and seq = ${expected.seq} and hash = ${expected.hash}
      returning chain
    )
    insert into audit_log
      (at, actor, action, subject, details, prev_hash, hash, chain, chain_seq, key_version)
    select ${entry.at}, ${entry.actor}, ${entry.action}, ${entry.subject},
      ${JSON.stringify(entry.details)}::jsonb, ${entry.prevHash}, ${entry.hash},
      head.chain, ${entry.chainSeq}, ${entry.keyVersion}
    from head
    returning seq
  `.execute(db);
  return result.rows.length === 1;
}

/** Insert the entry and move its chain's head to it, in one statement. */
export async function insertChainedEntry(tx: Executor, entry: ChainedEntryInput): Promise<void> {
  await tx
    .with('inserted', (db) =>
      db
        .insertInto('audit_log')
        .values({
          at: entry.at,
          actor: entry.actor,
          action: entry.action,
          subject: entry.subject,
          details: JSON.stringify(entry.details),
          prev_hash: entry.prevHash,
          hash: entry.hash,
          chain: entry.chain,
          chain_seq: entry.chainSeq,
          key_version: entry.keyVersion,
        })
        .returning('chain_seq'),
    )
    .updateTable('audit_chain_heads')
    .set({ seq: entry.chainSeq, hash: entry.hash })
    .where('chain', '=', entry.chain)
    .execute();
}

/**
 * Lock the head rows of several chains until the transaction ends, in chain order (the sort runs
 * before the rows are locked), so that two such transactions never wait for each other in a circle.
 */
export async function lockChainHeads(tx: Executor, chains: number[]) {
  return tx
    .selectFrom('audit_chain_heads')
    .select(['chain', 'seq', 'hash'])
    .where('chain', 'in', chains)
    .orderBy('chain', 'asc')
    .forUpdate()
    .execute();
}

/** Insert entries of several chains and move each chain's head to its last one, in one statement. */
export async function insertChainedEntries(
  tx: Executor,
  entries: ChainedEntryInput[],
  heads: Array<{ chain: number; seq: string; hash: Buffer }>,
): Promise<void> {
  const column = <T>(pick: (entry: ChainedEntryInput) => T) => entries.map(pick);
  await sql`
    with inserted as (
      insert into audit_log
        (at, actor, action, subject, details, prev_hash, hash, chain, chain_seq, key_version)
      select * from unnest(
        ${column((e) => e.at)}::timestamptz[], ${column((e) => e.actor)}::text[],
        ${column((e) => e.action)}::text[], ${column((e) => e.subject)}::text[],
        ${column((e) => JSON.stringify(e.details))}::jsonb[], ${column((e) => e.prevHash)}::bytea[],
        ${column((e) => e.hash)}::bytea[], ${column((e) => e.chain)}::smallint[],
        ${column((e) => e.chainSeq)}::bigint[], ${column((e) => e.keyVersion)}::integer[])
      returning seq
    )
    update audit_chain_heads set seq = moved.seq, hash = moved.hash
    from unnest(${heads.map((h) => h.chain)}::smallint[], ${heads.map((h) => h.seq)}::bigint[],
      ${heads.map((h) => h.hash)}::bytea[]) as moved (chain, seq, hash)
    where audit_chain_heads.chain = moved.chain
  `.execute(tx);
}

export async function listChainHeads(db: Executor) {
  return db.selectFrom('audit_chain_heads').selectAll().orderBy('chain', 'asc').execute();
}

/**
 * The newest entry of each of the first `chainCount` chains that has one, as the log itself
 * says (not the heads table, which only serves as the lock). One index probe per chain.
 */
export async function findChainEnds(db: Executor, chainCount: number) {
  const result = await sql<{ chain: number; chain_seq: string; hash: Buffer; at: Date }>`
    select chains.chain, newest.chain_seq, newest.hash, newest.at
    from generate_series(0, ${chainCount - 1}) as chains (chain)
    cross join lateral (
      select chain_seq, hash, at from audit_log
      where audit_log.chain = chains.chain order by chain_seq desc limit 1
    ) as newest
    order by chains.chain
  `.execute(db);
  return result.rows;
}

/** One page of a chain in order, after `afterSeq`. */
export async function listChainPage(db: Executor, chain: number, afterSeq: string, limit: number) {
  return db
    .selectFrom('audit_log')
    .selectAll()
    .where('chain', '=', chain)
    .where('chain_seq', '>', afterSeq)
    .orderBy('chain_seq', 'asc')
    .limit(limit)
    .execute();
}

/** The chains that have entries, including any a forger invented beyond the heads table. */
export async function listChainNumbers(db: Executor): Promise<number[]> {
  const rows = await db
    .selectFrom('audit_log')
    .select('chain')
    .distinct()
    .where('chain', 'is not', null)
    .execute();
  return rows.map((row) => row.chain!);
}

/** One page of the legacy (pre-key) chain in `seq` order, after `afterSeq`. */
export async function listLegacyPage(db: Executor, afterSeq: string, limit: number) {
  return db
    .selectFrom('audit_log')
    .selectAll()
    .where('chain', 'is', null)
    .where('seq', '>', afterSeq)
    .orderBy('seq', 'asc')
    .limit(limit)
    .execute();
}

/** The end of the legacy chain: its entry count and last entry, if it has any. */
export async function findLegacyEnd(db: Executor) {
  const result = await sql<{ count: string; seq: string | null; hash: Buffer | null }>`
    select count(*)::text as count,
      (select seq from audit_log where chain is null order by seq desc limit 1) as seq,
      (select hash from audit_log where chain is null order by seq desc limit 1) as hash
    from audit_log where chain is null
  `.execute(db);
  return result.rows[0]!;
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
