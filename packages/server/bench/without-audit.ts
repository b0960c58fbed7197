import { register } from 'node:module';

/**
 * Bench only, never in production: `node --import tsx --import ./without-audit.ts` swaps the
 * audit service for one whose appendAuditEvent does nothing, so letter-open.ts can measure the
 * same server with and without the audit entry. Nothing in src/ can switch auditing off.
 */
register('./without-audit-hooks.ts', import.meta.url);
