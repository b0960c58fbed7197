import { type RawBuilder, sql } from 'kysely';
import type PgBoss from 'pg-boss';

/**
 * pg-boss 10's own job insert (src/plans.js, insertJob), for one job with Kuvert's retry
 * options and the queue's defaults otherwise, as part of a larger statement (letter ingest).
 * It writes pg-boss's table directly, so it is tied to the pinned major: the notification
 * tests and the end-to-end test run jobs inserted this way through pg-boss's workers, and
 * fail if the schema moves.
 */
function jobInsertSql(options: {
  name: string;
  retry: PgBoss.RetryOptions;
  payload: RawBuilder<unknown>;
  /** More relations for the payload to draw on (`, rows`), or nothing. */
  alsoFrom: RawBuilder<unknown>;
  /** A boolean SQL expression: the job is inserted only when it holds. */
  when: RawBuilder<unknown>;
}): RawBuilder<unknown> {
  const { retryLimit, retryDelay, retryBackoff } = options.retry;
  return sql`insert into pgboss.job (id, name, data, priority, start_after, dead_letter, expire_in,
      keep_until, retry_limit, retry_delay, retry_backoff, policy)
    select gen_random_uuid(), q.name, ${options.payload}, 0, now(), q.dead_letter,
      coalesce(q.expire_seconds * interval '1s', interval '15 minutes'),
      now() + cast(coalesce((q.retention_minutes * 60)::text, '14 days') as interval),
      coalesce(${retryLimit}::int, q.retry_limit, 2),
      greatest(coalesce(${retryDelay}::int, q.retry_delay, 0), 1),
      ${retryBackoff}::bool,
      q.policy
    from pgboss.queue q${options.alsoFrom}
    where q.name = ${options.name} and ${options.when}`;
}

/** Insert one job, with a payload known now, when `when` holds. */
export function insertJobSql(options: {
  name: string;
  retry: PgBoss.RetryOptions;
  payload: unknown;
  when: RawBuilder<unknown>;
}): RawBuilder<unknown> {
  return jobInsertSql({
    ...options,
    payload: sql`${JSON.stringify(options.payload)}::jsonb`,
    alsoFrom: sql``,
  });
}

/** Insert one job per row of `from`, a relation of the same statement. */
export function insertJobsFromSql(options: {
  name: string;
  retry: PgBoss.RetryOptions;
  from: RawBuilder<unknown>;
  payload: RawBuilder<unknown>;
}): RawBuilder<unknown> {
  return jobInsertSql({ ...options, alsoFrom: sql`, ${options.from}`, when: sql`true` });
}
