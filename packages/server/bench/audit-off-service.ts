/**
 * Bench only (see without-audit.ts): the real audit service, except that appending does nothing.
 * A local export takes precedence over the same name from `export *`.
 */
export * from '../src/audit/service.js';

export async function appendAuditEvent(): Promise<void> {}
