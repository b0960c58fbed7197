import { parseArgs } from 'node:util';
import type { Config } from '@kuvert/server/config';
import type { VulnerabilityReportStatus } from '@kuvert/server/db/schema';
import {
  addHallOfFameEntry,
  listHallOfFameEntries,
  removeHallOfFameEntry,
} from '@kuvert/server/security-page/hall-of-fame';
import {
  listReports,
  readReport,
  reportStatuses,
  setReportStatus,
} from '@kuvert/server/security-page/reports';
import { loadServiceKey } from '@kuvert/server/security-page/service-key';
import { withAdminContext, withAdminKeys } from '../admin-database.js';
import { reportError } from './report-error.js';

const actor = 'admin:cli';

export interface CommandOutput {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const standardOutput: CommandOutput = { stdout: process.stdout, stderr: process.stderr };

export const reportsUsage = `  reports list                  list vulnerability reports (id, received, status, size)
  reports show <id>             decrypt a report with the service's OpenPGP key and print it
  reports status <id> <new|triaged|fixed|rejected>
                                set a report's status (audited)
  halloffame add --name <name> --year <year> [--link <url>]
                                thank a researcher on the security page; only with their
                                consent: name and link are published (audited)
  halloffame list               list the hall of fame
  halloffame remove <id>        remove an entry (audited)`;

/**
 * What a reporter wrote is untrusted text on the operator's terminal: control characters
 * (escape sequences could rewrite the screen or the title) and bidirectional overrides are
 * shown as visible code points. Line breaks and tabs stay.
 */
export function terminalSafe(text: string): string {
  return [...text]
    .map((character) => {
      const codePoint = character.codePointAt(0)!;
      if (!isHiddenOnTerminal(codePoint)) return character;
      return `<U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}>`;
    })
    .join('');
}

function isHiddenOnTerminal(codePoint: number): boolean {
  const control = codePoint <= 0x1f && codePoint !== 0x0a && codePoint !== 0x09;
  const c1 = codePoint >= 0x7f && codePoint <= 0x9f;
  const bidi =
    [0x061c, 0x200e, 0x200f, 0x2028, 0x2029].includes(codePoint) ||
    (codePoint >= 0x202a && codePoint <= 0x202e) ||
    (codePoint >= 0x2066 && codePoint <= 0x2069);
  return control || c1 || bidi;
}

export async function reportsCommand(
  config: Readonly<Config>,
  argv: string[],
  output: CommandOutput = standardOutput,
): Promise<number> {
  const [action, ...rest] = argv;
  try {
    switch (action) {
      case 'list':
        return await withAdminContext(config, async ({ db }) => {
          const reports = await listReports({ db });
          output.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
          return 0;
        });
      case 'show': {
        const [id] = rest;
        if (!id || rest.length !== 1) throw new Error('Usage: kuvert reports show <id>');
        return await withAdminKeys(config, async ({ db, keys }) => {
          const serviceKey = await loadServiceKey({
            dataDir: config.dataDir,
            keys,
            contact: config.KUVERT_SECURITY_CONTACT,
            publicUrl: config.KUVERT_PUBLIC_URL,
            keyFile: config.KUVERT_OPENPGP_KEY_FILE,
            keyPassphrase: config.KUVERT_OPENPGP_KEY_PASSPHRASE,
            createIfMissing: false,
          });
          const report = await readReport({ db, serviceKey, id });
          output.stdout.write(
            `Report ${report.id}\nReceived: ${report.receivedAt.toISOString()}\nStatus: ${report.status}\n\n${terminalSafe(report.text)}\n`,
          );
          return 0;
        });
      }
      case 'status': {
        const [id, status] = rest;
        if (!id || !status || rest.length !== 2) {
          throw new Error(`Usage: kuvert reports status <id> <${reportStatuses.join('|')}>`);
        }
        return await withAdminKeys(config, async ({ db, keys }) => {
          const change = await setReportStatus({
            db,
            keys,
            id,
            status: status as VulnerabilityReportStatus,
            actor,
          });
          output.stdout.write(`Report ${id}: ${change.from} → ${change.to}\n`);
          return 0;
        });
      }
      default:
        throw new Error('Usage: kuvert reports list|show <id>|status <id> <status>');
    }
  } catch (error) {
    return reportError(error, output.stderr);
  }
}

export async function hallOfFameCommand(
  config: Readonly<Config>,
  argv: string[],
  output: CommandOutput = standardOutput,
): Promise<number> {
  const [action, ...rest] = argv;
  try {
    switch (action) {
      case 'add': {
        const { values, positionals } = parseArgs({
          args: rest,
          options: {
            name: { type: 'string' },
            year: { type: 'string' },
            link: { type: 'string' },
          },
          strict: true,
        });
        if (!values.name || !values.year || positionals.length > 0) {
          throw new Error(
            'Usage: kuvert halloffame add --name <name> --year <year> [--link <url>] (only with the researcher’s consent: the name and link are published)',
          );
        }
        if (!/^\d{4}$/.test(values.year)) throw new Error('--year must be a year, e.g. 2026');
        const { name, link } = values;
        const year = Number(values.year);
        return await withAdminKeys(config, async ({ db, keys }) => {
          const entry = await addHallOfFameEntry({ db, keys, name, year, link, actor });
          output.stdout.write(`${JSON.stringify(entry, null, 2)}\n`);
          return 0;
        });
      }
      case 'list':
        return await withAdminContext(config, async ({ db }) => {
          output.stdout.write(`${JSON.stringify(await listHallOfFameEntries({ db }), null, 2)}\n`);
          return 0;
        });
      case 'remove': {
        const [id] = rest;
        if (!id || rest.length !== 1) throw new Error('Usage: kuvert halloffame remove <id>');
        return await withAdminKeys(config, async ({ db, keys }) => {
          const removed = await removeHallOfFameEntry({ db, keys, id, actor });
          output.stdout.write(`Removed ${removed.name} (${removed.year}).\n`);
          return 0;
        });
      }
      default:
        throw new Error('Usage: kuvert halloffame add|list|remove');
    }
  } catch (error) {
    return reportError(error, output.stderr);
  }
}
