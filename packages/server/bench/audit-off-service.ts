/**
 * Bench only (see without-audit.ts): the real audit service, except that appending does nothing.
 * Local exports take precedence over the same names from `export *`; every append function
 * must be here, since the real ones call each other inside the real module.
 */
export * from '../src/audit/service.js';

export async function appendAuditEvent(): Promise<void> {}

export async function appendStandaloneAuditEvent(): Promise<void> {}
