import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { KuvertError } from '../errors.js';

/**
 * Cross-site request forgery defences for the web app (security invariant 6), in depth:
 * the session cookie is SameSite=Strict; every state-changing request carries the
 * session's token in a header, which a cross-site form cannot set; and an Origin header,
 * when the browser sends one, must be the service's own (OWASP CSRF Prevention Cheat
 * Sheet: "Verifying Origin With Standard Headers" and "Synchronizer Token Pattern").
 */

export const csrfHeader = 'x-csrf-token';

/** GET and HEAD change nothing (RFC 9110 §9.2.1), so they need no token. */
const safeMethods = new Set(['GET', 'HEAD']);

export function isStateChanging(method: string): boolean {
  return !safeMethods.has(method.toUpperCase());
}

export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Compare digests, so neither the length nor a common prefix shows in the timing. */
export function csrfTokensMatch(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented === '') return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(presented));
}

/**
 * Refuse a request whose Origin names another site. No Origin is allowed through: old
 * browsers and non-browser clients omit it, and the token check still applies to them.
 * `Origin: null` (sandboxed frames, some redirects) is not our origin and is refused.
 */
export function assertSameOrigin(request: FastifyRequest, publicUrl: string): void {
  const origin = request.headers.origin;
  if (origin === undefined) return;
  if (origin !== publicUrl) {
    throw new KuvertError('csrf_failed', undefined, { logReason: 'foreign Origin header' });
  }
}

export function assertCsrfToken(request: FastifyRequest, expected: string): void {
  if (!csrfTokensMatch(expected, request.headers[csrfHeader])) {
    throw new KuvertError('csrf_failed', undefined, { logReason: 'missing or wrong X-CSRF-Token' });
  }
}
