import { randomUUID } from 'node:crypto';
import { appendAuditEvent } from '../audit/service.js';
import type { Db, Executor } from '../db/database.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import { assertSafeText } from '../safe-text.js';
import { deleteHallOfFameEntry, insertHallOfFameEntry, listHallOfFame } from './queries.js';

export interface HallOfFameEntry {
  id: string;
  name: string;
  year: number;
  link: string | null;
}

/**
 * Add a researcher to the hall of fame. Only with their consent: the name and link are
 * published on the security page, in every language, for as long as the entry stays.
 */
export async function addHallOfFameEntry(options: {
  db: Db;
  keys: MasterKeys;
  name: string;
  year: number;
  link?: string | undefined;
  actor: string;
  now?: Date;
}): Promise<HallOfFameEntry> {
  const name = options.name.trim();
  assertSafeText('name', name);
  if (name === '' || name.length > 100) {
    throw new KuvertError('validation_failed', 'name must have 1 to 100 characters.');
  }
  const thisYear = (options.now ?? new Date()).getUTCFullYear();
  if (!Number.isInteger(options.year) || options.year < 2000 || options.year > thisYear) {
    throw new KuvertError('validation_failed', `year must be a year from 2000 to ${thisYear}.`);
  }
  const link = options.link ? publicLink(options.link) : null;
  return options.db.transaction().execute(async (tx) => {
    const entry = await insertHallOfFameEntry(tx, {
      id: randomUUID(),
      name,
      year: options.year,
      link,
    });
    await appendAuditEvent(tx, options.keys, {
      actor: options.actor,
      action: 'hall_of_fame.added',
      subject: entry.id,
      details: { name, year: options.year, link },
    });
    return present(entry);
  });
}

/** A link we publish must be an absolute https (or http) URL: no javascript:, no data:. */
function publicLink(raw: string): string {
  assertSafeText('link', raw);
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username) {
    throw new KuvertError('validation_failed', 'link must be an https:// (or http://) URL.');
  }
  return url.href;
}

export async function removeHallOfFameEntry(options: {
  db: Db;
  keys: MasterKeys;
  id: string;
  actor: string;
}): Promise<HallOfFameEntry> {
  if (!/^[0-9a-f-]{36}$/i.test(options.id)) {
    throw new KuvertError('not_found', `No hall-of-fame entry ${options.id}.`);
  }
  return options.db.transaction().execute(async (tx) => {
    const removed = await deleteHallOfFameEntry(tx, options.id);
    if (!removed) throw new KuvertError('not_found', `No hall-of-fame entry ${options.id}.`);
    await appendAuditEvent(tx, options.keys, {
      actor: options.actor,
      action: 'hall_of_fame.removed',
      subject: removed.id,
      details: { name: removed.name, year: removed.year },
    });
    return present(removed);
  });
}

export async function listHallOfFameEntries(options: { db: Executor }): Promise<HallOfFameEntry[]> {
  return (await listHallOfFame(options.db)).map(present);
}

/** The hall of fame by year, newest year first. */
export function groupByYear(
  entries: readonly HallOfFameEntry[],
): Array<[number, HallOfFameEntry[]]> {
  const years = new Map<number, HallOfFameEntry[]>();
  for (const entry of entries) years.set(entry.year, [...(years.get(entry.year) ?? []), entry]);
  return [...years].sort(([a], [b]) => b - a);
}

function present(row: HallOfFameEntry): HallOfFameEntry {
  return { id: row.id, name: row.name, year: row.year, link: row.link };
}
