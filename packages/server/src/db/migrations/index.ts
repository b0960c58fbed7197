import type { Migration } from 'kysely';
import * as foundation from './2026-11-25T1200-foundation.js';
import * as auditChains from './2026-12-02T1000-audit-chains.js';
import * as eid from './2026-12-02T1300-eid.js';
import * as loginFactors from './2026-12-02T1310-login-factors.js';
import * as sessionsSettings from './2026-12-02T1320-sessions-settings.js';
import * as vulnerabilityReports from './2026-12-02T1330-vulnerability-reports.js';

/** Every migration, by timestamped name. Append only; never edit one that has shipped. */
export const migrations: Record<string, Migration> = {
  '2026-11-25T1200-foundation': foundation,
  '2026-12-02T1000-audit-chains': auditChains,
  '2026-12-02T1300-eid': eid,
  '2026-12-02T1310-login-factors': loginFactors,
  '2026-12-02T1320-sessions-settings': sessionsSettings,
  '2026-12-02T1330-vulnerability-reports': vulnerabilityReports,
};
