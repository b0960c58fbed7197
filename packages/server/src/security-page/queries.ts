import type { Db, Executor } from '../db/database.js';
import type { VulnerabilityReportStatus } from '../db/schema.js';

export interface VulnerabilityReportSummary {
  id: string;
  received_at: Date;
  status: VulnerabilityReportStatus;
  size: number;
}

export async function insertVulnerabilityReport(
  db: Executor,
  report: { id: string; ciphertext: string },
): Promise<{ id: string; received_at: Date }> {
  return db
    .insertInto('vulnerability_reports')
    .values(report)
    .returning(['id', 'received_at'])
    .executeTakeFirstOrThrow();
}

export async function listVulnerabilityReports(db: Db): Promise<VulnerabilityReportSummary[]> {
  const rows = await db
    .selectFrom('vulnerability_reports')
    .select(['id', 'received_at', 'status', (eb) => eb.fn('length', ['ciphertext']).as('size')])
    .orderBy('received_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ ...row, size: Number(row.size) }));
}

export async function findVulnerabilityReport(db: Executor, id: string) {
  return db.selectFrom('vulnerability_reports').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Sets the status and returns the one it had, or undefined when there is no such report. */
export async function updateVulnerabilityReportStatus(
  tx: Executor,
  id: string,
  status: VulnerabilityReportStatus,
): Promise<VulnerabilityReportStatus | undefined> {
  const before = await tx
    .selectFrom('vulnerability_reports')
    .select('status')
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
  if (!before) return undefined;
  await tx.updateTable('vulnerability_reports').set({ status }).where('id', '=', id).execute();
  return before.status;
}

export async function insertHallOfFameEntry(
  tx: Executor,
  entry: { id: string; name: string; year: number; link: string | null },
) {
  return tx.insertInto('hall_of_fame').values(entry).returningAll().executeTakeFirstOrThrow();
}

export async function deleteHallOfFameEntry(tx: Executor, id: string) {
  return tx.deleteFrom('hall_of_fame').where('id', '=', id).returningAll().executeTakeFirst();
}

/** Newest year first; within a year in the order they were added. */
export async function listHallOfFame(db: Executor) {
  return db
    .selectFrom('hall_of_fame')
    .selectAll()
    .orderBy('year', 'desc')
    .orderBy('added_at')
    .orderBy('id')
    .execute();
}
