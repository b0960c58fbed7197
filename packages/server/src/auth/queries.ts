import { type Insertable, sql } from 'kysely';
import type { Executor } from '../db/database.js';
import type { EidLoginsTable, EidRegistrationsTable } from '../db/schema.js';

/*
 * Every time comparison uses the database's clock (now()), not the server's: several
 * Kuvert servers share these rows, and their clocks need not agree with each other.
 */

const secondsAgo = (seconds: number) => sql<Date>`now() - make_interval(secs => ${seconds})`;

// ---------------------------------------------------------------------------------------
// Sessions

export async function insertSession(
  db: Executor,
  session: {
    id: Buffer;
    mailboxId: string;
    csrfToken: string;
    authLevel: string;
    userAgent: string | null;
    absoluteSeconds: number;
  },
) {
  return db
    .insertInto('sessions')
    .values({
      id: session.id,
      mailbox_id: session.mailboxId,
      csrf_token: session.csrfToken,
      auth_level: session.authLevel,
      user_agent: session.userAgent,
      last_seen_at: sql<Date>`now()`,
      expires_at: sql<Date>`now() + make_interval(secs => ${session.absoluteSeconds})`,
    })
    .returning(['expires_at'])
    .executeTakeFirstOrThrow();
}

/**
 * A session that is neither revoked nor past its idle or absolute timeout. `stale` says
 * whether last_seen_at is old enough to be worth a write.
 */
export async function findLiveSession(
  db: Executor,
  id: Buffer,
  limits: { idleSeconds: number; touchSeconds: number },
) {
  return db
    .selectFrom('sessions')
    .select([
      'id',
      'mailbox_id',
      'csrf_token',
      'auth_level',
      'expires_at',
      sql<boolean>`last_seen_at < ${secondsAgo(limits.touchSeconds)}`.as('stale'),
    ])
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .where('last_seen_at', '>', secondsAgo(limits.idleSeconds))
    .executeTakeFirst();
}

/** Conditional, so two servers touching the same session at once write at most once. */
export async function touchSession(db: Executor, id: Buffer, touchSeconds: number): Promise<void> {
  await db
    .updateTable('sessions')
    .set({ last_seen_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('last_seen_at', '<', secondsAgo(touchSeconds))
    .execute();
}

/** Revoke a live session; returns its mailbox when there was one to revoke. */
export async function revokeSession(db: Executor, id: Buffer) {
  return db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()` })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(['mailbox_id'])
    .executeTakeFirst();
}

/** The live sessions of a mailbox, most recently used first. */
export async function listLiveSessions(
  db: Executor,
  mailboxId: string,
  limits: { idleSeconds: number },
) {
  return db
    .selectFrom('sessions')
    .select(['id', 'auth_level', 'user_agent', 'created_at', 'last_seen_at', 'expires_at'])
    .where('mailbox_id', '=', mailboxId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .where('last_seen_at', '>', secondsAgo(limits.idleSeconds))
    .orderBy('last_seen_at', 'desc')
    .orderBy('created_at', 'desc')
    .execute();
}

/**
 * Revoke one live session of a mailbox. Scoped by the mailbox in the query itself, so another
 * mailbox's session id finds nothing, exactly like an id that does not exist.
 */
export async function revokeSessionOfMailbox(db: Executor, mailboxId: string, id: Buffer) {
  return db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()` })
    .where('mailbox_id', '=', mailboxId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['id'])
    .executeTakeFirst();
}

/** Revoke every live session of a mailbox but one (or all, without `exceptId`). */
export async function revokeSessionsOfMailbox(
  db: Executor,
  mailboxId: string,
  exceptId: Buffer | undefined,
) {
  let query = db
    .updateTable('sessions')
    .set({ revoked_at: sql<Date>`now()` })
    .where('mailbox_id', '=', mailboxId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`);
  if (exceptId) query = query.where('id', '!=', exceptId);
  return query.returning(['id']).execute();
}

// ---------------------------------------------------------------------------------------
// Login attempts

/**
 * Insert one pending (failed until proven otherwise) attempt per bucket and, in the same
 * statement, read each bucket's earlier failures within the window: how many, and how many
 * seconds ago the latest was. One round trip and one commit on the login path. The rows this
 * statement inserts are not visible to its own select (PostgreSQL runs data-modifying CTEs on
 * the statement's snapshot), so "earlier" excludes this attempt by construction.
 */
export async function insertLoginAttemptsAndCount(
  db: Executor,
  options: { buckets: string[]; windowSeconds: number },
): Promise<{
  ids: string[];
  earlier: Map<string, { failures: number; secondsSinceLatest: number }>;
}> {
  const values = sql.join(options.buckets.map((bucket) => sql`(${bucket}, false)`));
  const result = await sql<{
    kind: 'id' | 'stats';
    id: string | null;
    bucket: string | null;
    failures: string | null;
    since: string | null;
  }>`
    with inserted as (
      insert into login_attempts (bucket, succeeded) values ${values} returning id
    ), earlier as (
      select bucket, count(*) as failures, extract(epoch from (now() - max(at))) as since
      from login_attempts
      where bucket in (${sql.join(options.buckets)}) and not succeeded
        and at > ${secondsAgo(options.windowSeconds)}
      group by bucket
    )
    select 'id' as kind, id::text as id, null as bucket, null as failures, null as since from inserted
    union all
    select 'stats', null, bucket, failures::text, since::text from earlier
  `.execute(db);
  const ids: string[] = [];
  const earlier = new Map<string, { failures: number; secondsSinceLatest: number }>();
  for (const row of result.rows) {
    if (row.kind === 'id' && row.id !== null) ids.push(row.id);
    else if (row.bucket !== null) {
      earlier.set(row.bucket, {
        failures: Number(row.failures),
        secondsSinceLatest: row.since === null ? Number.POSITIVE_INFINITY : Number(row.since),
      });
    }
  }
  return { ids, earlier };
}

/**
 * The failures of a bucket within the window (other than the caller's own pending rows), and
 * how many seconds ago the latest of them was.
 */
export async function recentFailures(
  db: Executor,
  options: { bucket: string; windowSeconds: number; excludeIds: string[] },
): Promise<{ failures: number; secondsSinceLatest: number }> {
  let query = db
    .selectFrom('login_attempts')
    .select([
      sql<string>`count(*)`.as('failures'),
      sql<string | null>`extract(epoch from (now() - max(at)))`.as('since'),
    ])
    .where('bucket', '=', options.bucket)
    .where('succeeded', '=', false)
    .where('at', '>', secondsAgo(options.windowSeconds));
  if (options.excludeIds.length > 0) query = query.where('id', 'not in', options.excludeIds);
  const row = await query.executeTakeFirstOrThrow();
  return {
    failures: Number(row.failures),
    secondsSinceLatest: row.since === null ? Number.POSITIVE_INFINITY : Number(row.since),
  };
}

export async function deleteLoginAttempts(db: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.deleteFrom('login_attempts').where('id', 'in', ids).execute();
}

export async function markLoginAttemptsSucceeded(db: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('login_attempts').set({ succeeded: true }).where('id', 'in', ids).execute();
}

export async function deleteLoginAttemptsOlderThan(db: Executor, seconds: number): Promise<void> {
  await db.deleteFrom('login_attempts').where('at', '<', secondsAgo(seconds)).execute();
}

// ---------------------------------------------------------------------------------------
// eID logins and registrations in progress: found by the SHA-256 of a cookie's token, used once.

export async function insertEidLogin(
  db: Executor,
  row: Omit<Insertable<EidLoginsTable>, 'expires_at'> & { ttlSeconds: number },
): Promise<void> {
  const { ttlSeconds, ...values } = row;
  // Logins nobody finished are dropped as new ones start: the table stays small without a timer.
  await db.deleteFrom('eid_logins').where('expires_at', '<', sql<Date>`now()`).execute();
  await db
    .insertInto('eid_logins')
    .values({ ...values, expires_at: sql`now() + make_interval(secs => ${ttlSeconds})` })
    .execute();
}

/** Take (delete and return) a live login in progress: a second callback with it finds nothing. */
export async function takeEidLogin(db: Executor, id: Buffer) {
  return db
    .deleteFrom('eid_logins')
    .where('id', '=', id)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}

export async function insertEidRegistration(
  db: Executor,
  row: Omit<Insertable<EidRegistrationsTable>, 'expires_at'> & { ttlSeconds: number },
): Promise<void> {
  const { ttlSeconds, ...values } = row;
  await db.deleteFrom('eid_registrations').where('expires_at', '<', sql<Date>`now()`).execute();
  await db
    .insertInto('eid_registrations')
    .values({ ...values, expires_at: sql`now() + make_interval(secs => ${ttlSeconds})` })
    .execute();
}

export async function findEidRegistration(db: Executor, id: Buffer) {
  return db
    .selectFrom('eid_registrations')
    .selectAll()
    .where('id', '=', id)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
}

export async function takeEidRegistration(db: Executor, id: Buffer) {
  return db
    .deleteFrom('eid_registrations')
    .where('id', '=', id)
    .where('expires_at', '>', sql<Date>`now()`)
    .returningAll()
    .executeTakeFirst();
}
