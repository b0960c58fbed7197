import { createHash, randomBytes } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { appendAuditEvent } from '../audit/service.js';
import type { AppContext } from '../context.js';
import type { Executor } from '../db/database.js';
import type { MasterKeys } from '../documents/master-keys.js';
import { KuvertError } from '../errors.js';
import { assertCsrfToken, assertSameOrigin, isStateChanging, newCsrfToken } from './csrf.js';
import { type AuthLevel, meetsLevel, parseAuthLevel } from './levels.js';
import { findLiveSession, insertSession, revokeSession, touchSession } from './queries.js';

/**
 * Server-side sessions (security invariant 6). The browser holds a random token in an
 * HttpOnly cookie; the database holds only its SHA-256, so a leaked sessions table does
 * not log anyone in. Idle and absolute timeouts follow OWASP's Session Management Cheat
 * Sheet for high-value applications.
 */

/** The cookie's name on plain http (development on http://localhost). */
export const sessionCookieName = 'kuvert_session';

/**
 * The name the session cookie has for this public URL. On https it carries the `__Host-`
 * prefix (RFC 6265bis §4.1.3.2): the browser then accepts it only when Secure, with Path=/
 * and without Domain, so a sibling subdomain cannot plant or shadow it (session fixation
 * through cookie injection). Browsers refuse `__Host-` cookies on http origins, even on
 * localhost in some versions, so plain http keeps the bare name.
 */
export function sessionCookieNameFor(publicUrl: string): string {
  return hostPrefixed(sessionCookieName, publicUrl);
}

/** `__Host-<name>` where the service is reached over https, `<name>` otherwise. */
export function hostPrefixed(name: string, publicUrl: string): string {
  return publicUrl.startsWith('https://') ? `__Host-${name}` : name;
}

export const sessionTimeouts = {
  idleSeconds: 30 * 60,
  absoluteSeconds: 12 * 60 * 60,
  /** last_seen_at moves at most once a minute: reading a letter should not be a write. */
  touchSeconds: 60,
} as const;

/** What a recipient route knows about the caller after `requireRecipient`. */
export interface RecipientSession {
  mailboxId: string;
  /** Hex SHA-256 of the token: safe to show and to log, useless as a credential. */
  sessionId: string;
  csrfToken: string;
  authLevel: AuthLevel;
  /** The absolute expiry; the idle timeout may end the session earlier. */
  expiresAt: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by `requireRecipient`; undefined on routes without it. */
    recipient?: RecipientSession;
  }
}

/** 32 random bytes, base64url: 256 bits, beyond guessing (OWASP asks for at least 64). */
const tokenPattern = /^[A-Za-z0-9_-]{43}$/;

export function newSessionToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sessionIdOf(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A cookie's value from the request, read with @fastify/cookie's parser. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  // The parser from @fastify/cookie, used directly: it then works in every plugin scope
  // without the plugin being registered there (or twice).
  return fastifyCookie.parse(header)[name];
}

/**
 * The session token the browser sent, if it has the shape of one. Only the name for this
 * public URL counts: on https a bare `kuvert_session` (which anyone on a sibling subdomain
 * could set) is ignored.
 */
export function readSessionToken(request: FastifyRequest, publicUrl: string): string | undefined {
  const token = readCookie(request, sessionCookieNameFor(publicUrl));
  return token !== undefined && tokenPattern.test(token) ? token : undefined;
}

/**
 * The Set-Cookie value for a new session. Secure always (browsers accept it on
 * http://localhost too), SameSite=Strict, Path=/ and no Domain (as `__Host-` demands), and no
 * Max-Age or Expires: the cookie ends with the browser session while the server enforces the
 * real timeouts.
 */
export function sessionCookie(token: string, publicUrl: string): string {
  return fastifyCookie.serialize(sessionCookieNameFor(publicUrl), token, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
  });
}

export function expiredSessionCookie(publicUrl: string): string {
  return fastifyCookie.serialize(sessionCookieNameFor(publicUrl), '', {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
    expires: new Date(0),
    maxAge: 0,
  });
}

export async function startSession(options: {
  db: Executor;
  mailboxId: string;
  authLevel: AuthLevel;
  userAgent: string | undefined;
}): Promise<{ token: string; session: RecipientSession }> {
  const token = newSessionToken();
  const id = sessionIdOf(token);
  const csrfToken = newCsrfToken();
  const row = await insertSession(options.db, {
    id,
    mailboxId: options.mailboxId,
    csrfToken,
    authLevel: options.authLevel,
    // Shown later in the list of sessions; capped so a huge header is not stored.
    userAgent: options.userAgent?.slice(0, 512) ?? null,
    absoluteSeconds: sessionTimeouts.absoluteSeconds,
  });
  return {
    token,
    session: {
      mailboxId: options.mailboxId,
      sessionId: id.toString('hex'),
      csrfToken,
      authLevel: options.authLevel,
      expiresAt: row.expires_at,
    },
  };
}

/** The live session of a token, refreshing its idle timer at most once a minute. */
export async function findSession(options: {
  db: Executor;
  token: string;
}): Promise<RecipientSession | undefined> {
  const id = sessionIdOf(options.token);
  const row = await findLiveSession(options.db, id, sessionTimeouts);
  if (!row) return undefined;
  if (row.stale) await touchSession(options.db, id, sessionTimeouts.touchSeconds);
  return {
    mailboxId: row.mailbox_id,
    sessionId: row.id.toString('hex'),
    csrfToken: row.csrf_token,
    authLevel: parseAuthLevel(row.auth_level),
    expiresAt: row.expires_at,
  };
}

/** Revoke a session by its token or id; returns the mailbox when a live one was revoked. */
export async function endSession(options: {
  db: Executor;
  token?: string;
  sessionId?: string;
}): Promise<{ mailboxId: string; sessionId: string } | undefined> {
  const id =
    options.token !== undefined
      ? sessionIdOf(options.token)
      : Buffer.from(options.sessionId ?? '', 'hex');
  if (id.length !== 32) return undefined;
  const row = await revokeSession(options.db, id);
  return row ? { mailboxId: row.mailbox_id, sessionId: id.toString('hex') } : undefined;
}

/**
 * The problem a session below the level something needs gets: 403 `step_up_required`, with the
 * level as the `requiredLevel` extension member, so the web app can send the reader to eID at it.
 */
export function stepUpRequired(requiredLevel: AuthLevel): KuvertError {
  return new KuvertError('step_up_required', undefined, { fields: { requiredLevel } });
}

/**
 * The preValidation hook for every recipient route: a live session or 401, and for anything but
 * GET/HEAD the CSRF token header and, when present, our own Origin, or 403. With `minLevel`, a
 * session below it answers 403 `step_up_required` (after the CSRF checks).
 *
 *     app.get('/letters', { config: { access: 'recipient' }, preValidation: requireRecipient(context) }, …)
 */
export function requireRecipient(
  context: Pick<AppContext, 'db' | 'config'>,
  options: { minLevel?: AuthLevel } = {},
) {
  return async function requireRecipientHandler(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<void> {
    const publicUrl = context.config.KUVERT_PUBLIC_URL;
    const token = readSessionToken(request, publicUrl);
    const session = token ? await findSession({ db: context.db, token }) : undefined;
    if (!session) {
      // A stale cookie would be sent on every request; tell the browser to drop it.
      if (readCookie(request, sessionCookieNameFor(publicUrl)) !== undefined) {
        reply.header('set-cookie', expiredSessionCookie(publicUrl));
      }
      throw new KuvertError('unauthenticated');
    }
    if (isStateChanging(request.method)) {
      assertSameOrigin(request, context.config.KUVERT_PUBLIC_URL);
      assertCsrfToken(request, session.csrfToken);
    }
    if (options.minLevel !== undefined && !meetsLevel(session.authLevel, options.minLevel)) {
      throw stepUpRequired(options.minLevel);
    }
    request.recipient = session;
  };
}

export type SessionEndReason = 'replaced_by_login' | 'replaced_by_step_up';

/**
 * A new session id whenever the authentication of a browser changes (OWASP Session Management
 * Cheat Sheet, "Renew the Session ID After Any Privilege Level Change"): at login and at
 * step-up. The session the browser presented, if still live, is revoked and audited in the
 * same transaction as the new one is made, so a token planted before login (fixation) or
 * held from before a step-up never carries the new level. Callers set the returned token
 * with `sessionCookie` and audit the login itself.
 */
export async function rotateSession(options: {
  tx: Executor;
  keys: MasterKeys;
  presentedToken: string | undefined;
  mailboxId: string;
  authLevel: AuthLevel;
  userAgent: string | undefined;
  ip: string;
  reason: SessionEndReason;
}): Promise<{ token: string; session: RecipientSession }> {
  const { tx } = options;
  if (options.presentedToken !== undefined) {
    const ended = await endSession({ db: tx, token: options.presentedToken });
    if (ended) {
      await appendAuditEvent(tx, options.keys, {
        actor: `mailbox:${ended.mailboxId}`,
        action: 'session.ended',
        subject: ended.mailboxId,
        details: { reason: options.reason, sessionId: ended.sessionId, ip: options.ip },
      });
    }
  }
  return startSession({
    db: tx,
    mailboxId: options.mailboxId,
    authLevel: options.authLevel,
    userAgent: options.userAgent,
  });
}
