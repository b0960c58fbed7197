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

// ---------------------------------------------------------------------------------------
// Login attempts

/** Insert one pending (failed until proven otherwise) attempt per bucket; returns the ids. */
export async function insertLoginAttempts(db: Executor, buckets: string[]): Promise<string[]> {
  const rows = await db
    .insertInto('login_attempts')
    .values(buckets.map((bucket) => ({ bucket, succeeded: false })))
    .returning(['id'])
    .execute();
  return rows.map((row) => row.id);
}

export async function countRecentFailures(
  db: Executor,
  bucket: string,
  windowSeconds: number,
): Promise<number> {
  const row = await db
    .selectFrom('login_attempts')
    .select(sql<string>`count(*)`.as('failures'))
    .where('bucket', '=', bucket)
    .where('succeeded', '=', false)
    .where('at', '>', secondsAgo(windowSeconds))
    .executeTakeFirstOrThrow();
  return Number(row.failures);
}

/**
 * Seconds until the bucket has fewer than `limit` failures in the window: when the
 * limit-th most recent failure ages out of it.
 */
export async function secondsUntilBelowLimit(
  db: Executor,
  bucket: string,
  limit: number,
  windowSeconds: number,
): Promise<number> {
  const row = await db
    .selectFrom('login_attempts')
    .select(
      sql<string>`extract(epoch from (at + make_interval(secs => ${windowSeconds}) - now()))`.as(
        'seconds',
      ),
    )
    .where('bucket', '=', bucket)
    .where('succeeded', '=', false)
    .where('at', '>', secondsAgo(windowSeconds))
    .orderBy('at', 'desc')
    .offset(limit - 1)
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.seconds) : 0;
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
