import type { AppContext } from '../context.js';
import type { MaintenanceTask } from '../jobs/maintenance.js';
import { storeCheckpoint, takeCheckpoint } from './checkpoints.js';

/**
 * How often chain ends are anchored: entries appended after the newest checkpoint are the
 * only ones whose removal `kuvert audit verify` cannot see.
 */
export const checkpointEveryMinutes = 5;

/**
 * Write a signed checkpoint at start and then every few minutes, but only when a chain moved
 * since this process last wrote one, so an idle server does not fill the store. Several
 * servers doing it at once each write their own; verification uses the newest.
 */
export function auditCheckpointTask(
  context: Pick<AppContext, 'db' | 'keys' | 'blobs'>,
): MaintenanceTask {
  let lastWritten: string | undefined;
  return {
    name: 'audit.checkpoint',
    everyMinutes: checkpointEveryMinutes,
    run: async () => {
      const checkpoint = await takeCheckpoint(context.db, context.keys);
      const ends = JSON.stringify([checkpoint.chains, checkpoint.legacy]);
      if (ends === lastWritten) return;
      await storeCheckpoint(context.blobs, checkpoint);
      lastWritten = ends;
    },
  };
}
