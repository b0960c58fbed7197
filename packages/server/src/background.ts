import { auditCheckpointTask } from './audit/checkpoint.task.js';
import type { AppContext } from './context.js';
import type { JobDefinition } from './jobs/job.js';
import type { MaintenanceTask } from './jobs/maintenance.js';
import { sweepOrphansTask } from './letters/sweep-orphans.task.js';
import { notifyLetterJob } from './notifications/notify-letter.job.js';
import { pruneNoncesTask } from './senders/prune-nonces.task.js';

/**
 * The one list of background work. Each job and task lives in the room that owns its data;
 * only this wiring knows them all, so the job queue depends on none of them.
 */
export const backgroundJobs: readonly JobDefinition[] = [notifyLetterJob as JobDefinition];

export function maintenanceTasks(
  context: Pick<AppContext, 'db' | 'blobs' | 'keys' | 'log'>,
): MaintenanceTask[] {
  return [pruneNoncesTask(context.db), sweepOrphansTask(context), auditCheckpointTask(context)];
}
