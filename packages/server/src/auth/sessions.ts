import { createHash, randomBytes } from 'node:crypto';
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppContext } from '../context.js';
import type { Executor } from '../db/database.js';
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

export const sessionCookieName = 'kuvert_session';

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

/** The session token the browser sent, if it has the shape of one. */
export function readSessionToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  // The parser from @fastify/cookie, used directly: it then works in every plugin scope
  // without the plugin being registered there (or twice).
  const token = fastifyCookie.parse(header)[sessionCookieName];
  return token !== undefined && tokenPattern.test(token) ? token : undefined;
}

/**
 * The Set-Cookie value for a new session. Secure always (browsers accept it on
 * http://localhost too), SameSite=Strict, and no Max-Age or Expires: the cookie ends with
 * the browser session while the server enforces the real timeouts.
 */
export function sessionCookie(token: string): string {
  return fastifyCookie.serialize(sessionCookieName, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'strict',
    path: '/',
  });
}

export function expiredSessionCookie(): string {
  return fastifyCookie.serialize(sessionCookieName, '', {
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
    const token = readSessionToken(request);
    const session = token ? await findSession({ db: context.db, token }) : undefined;
    if (!session) {
      // A stale cookie would be sent on every request; tell the browser to drop it.
      if (request.headers.cookie?.includes(`${sessionCookieName}=`)) {
        reply.header('set-cookie', expiredSessionCookie());
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
