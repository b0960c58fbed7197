import type { AppContext } from '../context.js';
import { deleteExpiredSignatureNonces } from '../senders/queries.js';

const intervalMs = 60_000;

/**
 * Housekeeping that every worker process may do at any time, because each step is an
 * idempotent delete of what has expired: signature nonces older than the signature window.
 * Several processes doing it at once only repeat each other's work.
 */
export function startMaintenance(context: AppContext): { stop(): void } {
  const run = async () => {
    try {
      await deleteExpiredSignatureNonces(context.db, new Date());
    } catch (error) {
      context.log.warn({ err: error }, 'maintenance failed; will retry');
    }
  };
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  void run();
  return { stop: () => clearInterval(timer) };
}
