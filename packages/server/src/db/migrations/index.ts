import type { Migration } from 'kysely';
import * as foundation from './2026-11-25T1200-foundation.js';
import * as eid from './2026-12-02T1300-eid.js';

/** Every migration, by timestamped name. Append only; never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '2026-11-25T1200-foundation': foundation,
  '2026-12-02T1300-eid': eid,
};
