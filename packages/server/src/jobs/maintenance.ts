import type { AppContext } from '../context.js';
import { sweepOrphanDocuments } from '../letters/service.js';
import { deleteExpiredSignatureNonces } from '../senders/queries.js';

const intervalMs = 60_000;
/**
 * Orphaned ciphertexts (only a crash makes them) are swept once a day, those older than an
 * hour. The sweep lists every document blob, so it runs rarely rather than on a hot path.
 */
const orphanSweepEvery = 24 * 60;
const orphanAgeMs = 60 * 60_000;

/**
 * Housekeeping that every worker process may do at any time, because each step is an
 * idempotent delete of what has expired: signature nonces older than the signature window,
 * and document ciphertexts no row refers to (left by a crash mid-ingest).
 * Several processes doing it at once only repeat each other's work.
 */
export function startMaintenance(context: AppContext): { stop(): void } {
  let round = 0;
  const run = async () => {
    try {
      await deleteExpiredSignatureNonces(context.db, new Date());
      if (round++ % orphanSweepEvery === 0) {
        await sweepOrphanDocuments({ context, olderThan: new Date(Date.now() - orphanAgeMs) });
      }
    } catch (error) {
      context.log.warn({ err: error }, 'maintenance failed; will retry');
    }
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  void run();
  return { stop: () => clearInterval(timer) };
}
