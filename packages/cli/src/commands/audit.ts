import { writeCheckpoint } from '@kuvert/server/audit/checkpoints';
import { type AuditProblem, verifyAuditLog } from '@kuvert/server/audit/verify';
import type { Config } from '@kuvert/server/config';
import { createBlobStore } from '@kuvert/server/documents/blob-store';
import { withAdminKeys } from '../admin-database.js';
import { reportError } from './report-error.js';

const usage = 'Usage: kuvert audit verify | kuvert audit checkpoint';

/**
 * `kuvert audit verify`: walk every chain, compare the ends with the newest signed checkpoint,
 * print "intact: …" (exit 0) or each chain's first broken link (exit 1).
 * `kuvert audit checkpoint`: sign and store every chain's head now.
 */
export async function auditCommand(config: Readonly<Config>, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if ((action !== 'verify' && action !== 'checkpoint') || rest.length > 0) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const blobs = createBlobStore(config);
  try {
    return await withAdminKeys(config, async ({ db, keys }) => {
      if (action === 'checkpoint') {
        const { key, checkpoint } = await writeCheckpoint({ db, keys, blobs });
        process.stdout.write(
          `checkpoint ${key}: ${checkpoint.count} entries in ${checkpoint.chains.length + (checkpoint.legacy ? 1 : 0)} chains at ${checkpoint.at}\n`,
        );
        return 0;
      }
      const result = await verifyAuditLog({ db, keys, blobs });
      if (result.problems.length > 0) {
        for (const problem of result.problems)
          process.stdout.write(`${describeProblem(problem)}\n`);
        return 1;
      }
      const anchor = result.checkpoint
        ? `last checkpoint at ${result.checkpoint.at}`
        : 'no checkpoint yet, so a cut-off end cannot be seen (run "kuvert audit checkpoint")';
      process.stdout.write(
        `intact: ${result.entries} entries in ${result.chains} chains, ${anchor}\n`,
      );
      return 0;
    });
  } catch (error) {
    return reportError(error);
  } finally {
    await blobs.close?.();
  }
}

/** `broken: chain 7, entry 12: edited: …`, one line per problem. */
export function describeProblem(problem: AuditProblem): string {
  const where =
    problem.chain === null
      ? 'checkpoint'
      : `chain ${problem.chain}${problem.seq === null ? '' : `, entry ${problem.seq}`}`;
  return `broken: ${where}: ${problem.kind}: ${problem.message}`;
}
