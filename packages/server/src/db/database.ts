import { Kysely, Migrator, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Either the database or an open transaction: queries take whichever the caller holds. */
export type Executor = Db | Tx;

// bigint columns (counters, sequence numbers) come back as strings; keep them exact.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export function connectDatabase(url: string, options: { maxConnections?: number } = {}): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 20,
    application_name: 'kuvert',
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * A connection of its own for LISTEN (notifications arrive on the session that listens, so a
 * pooled connection, handed to other queries in between, cannot hold it).
 */
export function connectListener(url: string): pg.Client {
  return new pg.Client({ connectionString: url, application_name: 'kuvert-listener' });
}

/** Run every pending migration; concurrent callers are serialised by Kysely's lock table. */
export async function migrateToLatest(db: Db): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'kuvert_migrations',
    migrationLockTableName: 'kuvert_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** One round trip that proves the database answers (readiness, a running cluster's probe). */
export async function pingDatabase(db: Db): Promise<void> {
  await sql`select 1`.execute(db);
}
