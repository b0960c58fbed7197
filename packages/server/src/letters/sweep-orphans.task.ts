import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import type { BlobStore } from '../documents/blob-store.js';
import type { MaintenanceTask } from '../jobs/maintenance.js';
import { sweepOrphanDocuments } from './service.js';

/** Only a crash between the blob write and the commit leaves an orphan: an hour is plenty. */
const orphanAgeMs = 60 * 60_000;

/**
 * Ciphertexts no document row refers to are swept once a day. The sweep lists every document
 * blob, so it runs rarely rather than on a hot path.
 */
export function sweepOrphansTask(options: {
  db: Db;
  blobs: BlobStore;
  log: Logger;
}): MaintenanceTask {
  return {
    name: 'letters.sweep-orphans',
    everyMinutes: 24 * 60,
    run: () => sweepOrphanDocuments({ ...options, olderThan: new Date(Date.now() - orphanAgeMs) }),
  };
}
