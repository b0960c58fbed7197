import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { KuvertError } from '../errors.js';
import { readAntiPhishingPhrase, setAntiPhishingPhrase } from '../mailboxes/anti-phishing.js';
import {
  listMyLoginHistory,
  listMySessions,
  revokeMySession,
  revokeMySessions,
} from './account.js';
import type { AuthContext } from './routes.js';
import {
  AntiPhishingBody,
  AntiPhishingPhrase,
  LoginHistory,
  RevokedSessions,
  RevokeSessionsQuery,
  SessionIdParams,
  SessionList,
} from './schemas.js';
import { expiredSessionCookie, type RecipientSession, requireRecipient } from './sessions.js';

function recipientOf(request: FastifyRequest): RecipientSession {
  // requireRecipient ran before; without a session the handler is not reached.
  if (!request.recipient) throw new KuvertError('unauthenticated');
  return request.recipient;
}

/**
 * The security settings of the person logged in, under /api/me: their sessions, login history
 * and anti-phishing phrase. Every route needs a session, and the state-changing ones the CSRF
 * token and our own Origin (requireRecipient).
 */
export function accountRoutes(context: AuthContext): FastifyPluginAsyncTypebox {
  const { config, db, keys } = context;
  return async (app) => {
    const base = {
      config: { access: 'recipient' as const },
      preValidation: requireRecipient(context),
    };
    const security = [{ session: [] }];

    app.get(
      '/me/sessions',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'My live sessions',
          description:
            'Every session of the mailbox that has not ended, most recently used first, with the device it was made on; `current` marks the one asking.',
          security,
          response: { 200: SessionList },
        },
      },
      async (request) => {
        const sessions = await listMySessions({ db, recipient: recipientOf(request) });
        return {
          sessions: sessions.map((session) => ({
            id: session.id,
            device: session.device,
            authLevel: session.authLevel,
            createdAt: session.createdAt.toISOString(),
            lastSeenAt: session.lastSeenAt.toISOString(),
            expiresAt: session.expiresAt.toISOString(),
            current: session.current,
          })),
        };
      },
    );

    app.delete(
      '/me/sessions/:sessionId',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'End one of my sessions',
          description:
            'Takes effect at once: the next request with that session answers 401. Ending the current session also clears its cookie. 404 for a session that is not live or not yours.',
          security,
          params: SessionIdParams,
          response: { 204: Type.Null({ description: 'Ended' }) },
        },
      },
      async (request, reply) => {
        const ended = await revokeMySession({
          db,
          keys,
          recipient: recipientOf(request),
          sessionId: request.params.sessionId,
          ip: request.ip,
        });
        if (ended.current)
          reply.header('set-cookie', expiredSessionCookie(config.KUVERT_PUBLIC_URL));
        return reply.code(204).send(null);
      },
    );

    app.delete(
      '/me/sessions',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'Log out everywhere else (or everywhere)',
          description:
            'Ends every other session of the mailbox at once; with `everywhere=true` this one too, and clears its cookie.',
          security,
          querystring: RevokeSessionsQuery,
          response: { 200: RevokedSessions },
        },
      },
      async (request, reply) => {
        const everywhere = request.query.everywhere === true;
        const revoked = await revokeMySessions({
          db,
          keys,
          recipient: recipientOf(request),
          includeCurrent: everywhere,
          ip: request.ip,
        });
        if (everywhere) reply.header('set-cookie', expiredSessionCookie(config.KUVERT_PUBLIC_URL));
        return { revoked };
      },
    );

    app.get(
      '/me/login-history',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'Recent logins and failed attempts on my mailbox',
          description:
            'The newest 50 logins, failed attempts and lock-outs from the audit log, with device and the network (IPv4 /24, IPv6 /48) they came from; never a full address.',
          security,
          response: { 200: LoginHistory },
        },
      },
      async (request) => {
        const entries = await listMyLoginHistory({ db, recipient: recipientOf(request) });
        return { entries: entries.map((entry) => ({ ...entry, at: entry.at.toISOString() })) };
      },
    );

    app.get(
      '/me/anti-phishing',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'My anti-phishing phrase',
          security,
          response: { 200: AntiPhishingPhrase },
        },
      },
      async (request) => ({
        phrase: await readAntiPhishingPhrase({
          db,
          keys,
          mailboxId: recipientOf(request).mailboxId,
        }),
      }),
    );

    app.put(
      '/me/anti-phishing',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'Set my anti-phishing phrase',
          description:
            'Every notification email then shows it, so an email without it is not from Kuvert. Stored sealed; white space is trimmed.',
          security,
          body: AntiPhishingBody,
          response: { 200: AntiPhishingPhrase },
        },
      },
      async (request) => ({
        phrase: await setAntiPhishingPhrase({
          db,
          keys,
          mailboxId: recipientOf(request).mailboxId,
          phrase: request.body.phrase,
          ip: request.ip,
        }),
      }),
    );

    app.delete(
      '/me/anti-phishing',
      {
        ...base,
        schema: {
          tags: ['recipient'],
          summary: 'Remove my anti-phishing phrase',
          security,
          response: { 204: Type.Null({ description: 'Removed' }) },
        },
      },
      async (request, reply) => {
        await setAntiPhishingPhrase({
          db,
          keys,
          mailboxId: recipientOf(request).mailboxId,
          phrase: null,
          ip: request.ip,
        });
        return reply.code(204).send(null);
      },
    );
  };
}
