import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { KuvertError } from '../errors.js';
import { accountRoutes } from './account-routes.js';
import { assertSameOrigin } from './csrf.js';
import { deviceCookie, readDeviceCookie } from './device-cookie.js';
import { LoginRateLimitedError } from './rate-limit.js';
import { LoginBody, presentSession, SessionBody } from './schemas.js';
import { describeSession, logIn, logOut } from './service.js';
import {
  expiredSessionCookie,
  readSessionToken,
  requireRecipient,
  sessionCookie,
} from './sessions.js';

// Recipient routes of other modules take their guard from here, beside the login it belongs to.
export { requireRecipient };

/** Exactly one of the authenticator code and a recovery code. */
function assertOneSecondFactor(body: LoginBody): void {
  if ((body.totp === undefined) === (body.recoveryCode === undefined)) {
    throw new KuvertError(
      'validation_failed',
      'Send either totp (the code from the authenticator app) or recoveryCode, not both.',
    );
  }
}

export type AuthContext = Pick<AppContext, 'config' | 'db' | 'keys'>;

/** Login, the current session and logout for the web app, under /api. */
export function authRoutes(context: AuthContext): FastifyPluginAsyncTypebox {
  const { config, db, keys } = context;
  return async (app) => {
    await app.register(accountRoutes(context));

    app.post(
      '/session',
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary:
            'Log in with national identity number, passphrase and authenticator code (or a recovery code)',
          description:
            'Sets the HttpOnly session cookie and a long-lived device cookie, and returns the CSRF token. Every failure answers 401 login_failed, whatever was wrong; after a few failures, an attempt made too soon answers 429 rate_limited with Retry-After and `retryAfter` (seconds). Failures from a browser holding a device cookie for the account wait in their own bucket.',
          body: LoginBody,
          response: { 200: SessionBody },
        },
      },
      async (request, reply) => {
        // Login CSRF: a foreign page must not log the browser into someone else's mailbox.
        assertSameOrigin(request, config.KUVERT_PUBLIC_URL);
        assertOneSecondFactor(request.body);
        const loggedIn = await logIn({
          db,
          keys,
          acceptSynthetic: config.KUVERT_ACCEPT_SYNTHETIC_IDS,
          nationalId: request.body.nationalId,
          password: request.body.password,
          totp: request.body.totp,
          recoveryCode: request.body.recoveryCode,
          ip: request.ip,
          userAgent: request.headers['user-agent'],
          presentedToken: readSessionToken(request, config.KUVERT_PUBLIC_URL),
          device: readDeviceCookie({ request, publicUrl: config.KUVERT_PUBLIC_URL, keys }),
        }).catch((error: unknown) => {
          // RFC 9110 §10.2.3 / RFC 6585 §4: tell the client when to try again.
          if (error instanceof LoginRateLimitedError) {
            reply.header('retry-after', String(error.retryAfterSeconds));
          }
          throw error;
        });
        reply.header('set-cookie', [
          sessionCookie(loggedIn.token, config.KUVERT_PUBLIC_URL),
          deviceCookie(loggedIn.deviceCookie, config.KUVERT_PUBLIC_URL),
        ]);
        // A public route, so the no-store of the recipient level does not apply: set it here.
        reply.header('cache-control', 'no-store');
        return presentSession(loggedIn);
      },
    );

    app.get(
      '/session',
      {
        config: { access: 'recipient' },
        preValidation: requireRecipient(context),
        schema: {
          tags: ['recipient'],
          summary: 'The current session',
          description: 'For the web app after a reload: who is logged in, and the CSRF token.',
          security: [{ session: [] }],
          response: { 200: SessionBody },
        },
      },
      async (request) => {
        const recipient = request.recipient;
        if (!recipient) throw new KuvertError('unauthenticated');
        return presentSession(await describeSession({ db, recipient }));
      },
    );

    app.delete(
      '/session',
      {
        config: { access: 'recipient' },
        preValidation: requireRecipient(context),
        schema: {
          tags: ['recipient'],
          summary: 'Log out',
          description:
            'Revokes the session on the server and clears the cookie. Needs X-CSRF-Token.',
          security: [{ session: [] }],
          response: { 204: Type.Null({ description: 'Logged out' }) },
        },
      },
      async (request, reply) => {
        const recipient = request.recipient;
        if (!recipient) throw new KuvertError('unauthenticated');
        await logOut({ db, keys: context.keys, recipient, ip: request.ip });
        reply.header('set-cookie', expiredSessionCookie(config.KUVERT_PUBLIC_URL));
        return reply.code(204).send(null);
      },
    );
  };
}
