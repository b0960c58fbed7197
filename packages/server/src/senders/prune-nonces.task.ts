import type { Executor } from '../db/database.js';
import type { MaintenanceTask } from '../jobs/maintenance.js';
import { deleteExpiredSignatureNonces } from './queries.js';

/**
 * Signature nonces are kept only while a replay could still be inside the signature window;
 * after that the time check refuses the request anyway, so the nonce can go.
 */
export function pruneNoncesTask(db: Executor): MaintenanceTask {
  return {
    name: 'senders.prune-nonces',
    everyMinutes: 1,
    run: () => deleteExpiredSignatureNonces(db, new Date()),
  };
}
