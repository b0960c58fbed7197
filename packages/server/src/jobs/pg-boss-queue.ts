import { CompiledQuery, type RawBuilder } from 'kysely';
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import type { AppContext } from '../context.js';
import type { Executor } from '../db/database.js';
import type { JobDefinition, JobQueue } from './job.js';
import { insertJobSql, insertJobsFromSql } from './queries.js';

/**
 * Jobs fetched per poll; each is handled and settled on its own. pg-boss waits out the
 * polling interval even after a full batch, so a queue drains at most
 * WORKERS_PER_QUEUE × BATCH_SIZE / POLLING_INTERVAL_SECONDS jobs a second (here 200/s,
 * above what one machine ingests).
 */
const BATCH_SIZE = 50;
const POLLING_INTERVAL_SECONDS = 0.5;
const WORKERS_PER_QUEUE = 2;
/** How long stop() lets running handlers finish before pg-boss fails them for a retry. */
const STOP_TIMEOUT_MS = 15_000;

/**
 * A payload that does not match its job's schema: a bug in the caller. enqueue() refuses it,
 * so nothing is stored; a worker that meets one (a schema changed under a queued job) fails it.
 */
export class InvalidJobPayloadError extends Error {
  constructor(
    readonly jobName: string,
    /** Where and why, never the values: a payload may hold something that must not be logged. */
    readonly problems: string[],
  ) {
    super(`Invalid payload for job ${jobName}: ${problems.join('; ')}`);
    this.name = 'InvalidJobPayloadError';
  }
}

/**
 * The job queue on pg-boss in the same PostgreSQL, so a job is inserted in the caller's
 * transaction: it exists exactly when, say, the letter it is about has committed.
 */
export async function createPgBossQueue(options: {
  databaseUrl: string;
  log: Logger;
  /** The jobs to create queues for and work on (the wiring's list, or a test's own). */
  jobs: readonly JobDefinition[];
}): Promise<JobQueue> {
  const { log } = options;
  const definitions = options.jobs;
  const boss = new PgBoss({
    connectionString: options.databaseUrl,
    schema: 'pgboss',
    max: 4,
    application_name: 'kuvert-jobs',
    // Kuvert schedules nothing by cron yet; delayed jobs use startAfter, which needs no clock.
    schedule: false,
  });
  boss.on('error', (error) => log.error({ err: error }, 'job queue error'));
  await boss.start();
  // pg-boss 10 refuses to send to a queue that does not exist; creating one is idempotent.
  for (const job of definitions) await boss.createQueue(job.name);

  const known = new Set(definitions.map((job) => job.name));
  let working = false;

  return {
    async enqueue<S extends TSchema>(
      job: JobDefinition<S>,
      payload: Static<S>,
      { tx }: { tx: Executor },
    ): Promise<void> {
      if (!known.has(job.name)) throw new Error(`Job ${job.name} is not one of this queue's jobs`);
      assertPayload(job, payload);
      const id = await boss.send(job.name, payload as object, {
        db: executorAsPgBossDb(tx),
        ...retryOptions(job),
      });
      if (!id) throw new Error(`Job ${job.name} was not enqueued`);
    },

    insertStatement<S extends TSchema>(
      job: JobDefinition<S>,
      payload: Static<S>,
      { when }: { when: RawBuilder<unknown> },
    ): RawBuilder<unknown> {
      if (!known.has(job.name)) throw new Error(`Job ${job.name} is not one of this queue's jobs`);
      assertPayload(job, payload);
      return insertJobSql({ name: job.name, retry: retryOptions(job), payload, when });
    },

    insertStatementFrom(
      job: JobDefinition,
      { from, payload }: { from: RawBuilder<unknown>; payload: RawBuilder<unknown> },
    ): RawBuilder<unknown> {
      if (!known.has(job.name)) throw new Error(`Job ${job.name} is not one of this queue's jobs`);
      return insertJobsFromSql({ name: job.name, retry: retryOptions(job), from, payload });
    },

    async work(context: AppContext): Promise<void> {
      if (working) return;
      working = true;
      for (const job of definitions) {
        for (let worker = 0; worker < WORKERS_PER_QUEUE; worker++) {
          await boss.work<unknown>(
            job.name,
            { batchSize: BATCH_SIZE, pollingIntervalSeconds: POLLING_INTERVAL_SECONDS },
            (batch) => runBatch({ boss, job, batch, context }),
          );
        }
      }
    },

    async stop(): Promise<void> {
      await boss.stop({ graceful: true, wait: true, timeout: STOP_TIMEOUT_MS });
    },
  };
}

/**
 * pg-boss runs its insert through whatever `executeSql` it is given; this one runs it on
 * the caller's Kysely transaction (or database) instead of pg-boss's own pool.
 */
function executorAsPgBossDb(tx: Executor): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const result = await tx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: [...result.rows] };
    },
  };
}

function retryOptions(job: JobDefinition): PgBoss.RetryOptions {
  // Backoff from 10 s doubles per attempt: a mail server down for a while is waited out.
  return { retryLimit: job.retryLimit ?? 3, retryDelay: 10, retryBackoff: true };
}

function assertPayload<S extends TSchema>(
  job: JobDefinition<S>,
  payload: unknown,
): asserts payload is Static<S> {
  if (Value.Check(job.payload, payload)) return;
  const problems = Value.Errors(job.payload, payload).map(
    (error) => `${error.instancePath || '/'} ${error.message}`,
  );
  throw new InvalidJobPayloadError(job.name, problems);
}

/**
 * Handle each job of a batch on its own: one that fails is failed (and so retried) alone,
 * and pg-boss completes the others when this returns, since it completes only active jobs.
 */
async function runBatch(options: {
  boss: PgBoss;
  job: JobDefinition;
  batch: PgBoss.Job<unknown>[];
  context: AppContext;
}): Promise<void> {
  const { boss, job, batch, context } = options;
  await Promise.all(
    batch.map(async (entry) => {
      try {
        assertPayload(job, entry.data);
        await job.handle(entry.data, context);
      } catch (error) {
        // The error, not the payload: the log must never carry what a payload might hold.
        context.log.error({ err: error, job: job.name, jobId: entry.id }, 'job failed');
        // pg-boss stores this as the job's output; the details stay in the log.
        await boss.fail(job.name, entry.id, {
          message: 'The handler failed; the log has the reason under this job id.',
        });
      }
    }),
  );
}
