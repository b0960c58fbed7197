import type { RawBuilder } from 'kysely';
import type { Static, TSchema } from 'typebox';
import type { AppContext } from '../context.js';
import type { Executor } from '../db/database.js';

/**
 * A background job: a stable dotted name, a payload schema checked when the job is enqueued
 * and again when it runs, and a handler that can be called directly in tests.
 */
export interface JobDefinition<S extends TSchema = TSchema> {
  name: string;
  payload: S;
  /** Attempts before the job is given up (pg-boss retryLimit). */
  retryLimit?: number;
  handle(payload: Static<S>, context: AppContext): Promise<void>;
}

export interface JobQueue {
  /** Enqueue inside the caller's transaction: the job exists exactly when the transaction commits. */
  enqueue<S extends TSchema>(
    job: JobDefinition<S>,
    payload: Static<S>,
    options: { tx: Executor },
  ): Promise<void>;
  /**
   * The same insert as SQL, for a statement that does more in one round trip (letter
   * ingest). The job is inserted only when `when` (a boolean SQL expression) holds.
   */
  insertStatement<S extends TSchema>(
    job: JobDefinition<S>,
    payload: Static<S>,
    options: { when: RawBuilder<unknown> },
  ): RawBuilder<unknown>;
  /**
   * The same insert, one job per row of `from` (a relation of the same statement), with the
   * payload a jsonb expression over that row. Not checked when enqueued, since its values exist
   * only in the database; the worker checks it against the job's schema before running it.
   */
  insertStatementFrom(
    job: JobDefinition,
    options: { from: RawBuilder<unknown>; payload: RawBuilder<unknown> },
  ): RawBuilder<unknown>;
  /** Start handling jobs in this process. */
  work(context: AppContext): Promise<void>;
  stop(): Promise<void>;
}
