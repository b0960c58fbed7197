import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../context.js';
import { SafeText } from '../safe-text.js';
import {
  EidRefusal,
  eidCallbackPath,
  eidEnabled,
  eidLoginCookie,
  eidLoginCookieName,
  expiredCookie,
  finishEidLogin,
  readCookie,
  registrationCookie,
  startEidLogin,
} from './eid.js';
import { findSession, readSessionToken, sessionCookie } from './sessions.js';

export type EidRoutesContext = Pick<AppContext, 'config' | 'db' | 'keys'>;

const EidLoginQuery = Type.Object(
  {
    level: Type.Optional(
      Type.Union([Type.Literal('eid-substantial'), Type.Literal('eid-high')], {
        description: 'The assurance level to ask ID-porten for (default eid-substantial).',
      }),
    ),
    stepUp: Type.Optional(
      Type.Boolean({
        description:
          "Raise the current session's level instead of starting a new one (the eID person must be the session's owner).",
      }),
    ),
    returnTo: Type.Optional(
      SafeText({
        maxLength: 2048,
        description:
          'Where the web app goes afterwards: a same-origin relative path, checked again by the web app before it is followed.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A redirect-only answer: a browser navigation, no body. */
function redirect(description: string) {
  return Type.Null({ description: `See Other (Location header). ${description}` });
}

/** Where the browser lands after a refused eID login: one page, whatever went wrong. */
const refusedPath = '/login/eid-refused';

/**
 * eID login over OpenID Connect, for the browser: top-level navigations that end in redirects,
 * not JSON. `GET /api/eid/login` sends the browser to the provider; the provider sends it back
 * to `GET /api/eid/callback`.
 */
export function eidRoutes(context: EidRoutesContext): FastifyPluginAsyncTypebox {
  const { config, db, keys } = context;
  return async (app) => {
    app.get(
      '/eid/login',
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary: 'Start an eID login (or a step-up) at the national eID provider',
          description:
            'Answers 303 to the provider with a short-lived HttpOnly login cookie (SameSite=Lax). With stepUp=true and a live session, the login raises that session’s level.',
          querystring: EidLoginQuery,
          response: { 303: redirect('To the provider, or to /login/eid-refused.') },
        },
      },
      async (request, reply) => {
        noStore(reply);
        if (!eidEnabled(config)) return refuse(request, reply, 'eID is not configured');
        const sessionToken = request.query.stepUp
          ? readSessionToken(request, config.KUVERT_PUBLIC_URL)
          : undefined;
        const session = sessionToken ? await findSession({ db, token: sessionToken }) : undefined;
        try {
          const started = await startEidLogin({
            db,
            config,
            level: request.query.level ?? 'eid-substantial',
            returnTo: request.query.returnTo,
            stepUpSessionId: session?.sessionId,
          });
          reply.header('set-cookie', eidLoginCookie(started.cookieToken));
          return reply.redirect(started.authorizationUrl, 303);
        } catch (error) {
          const reason = error instanceof EidRefusal ? error.reason : String(error);
          return refuse(request, reply, `could not start: ${reason}`);
        }
      },
    );

    app.get(
      eidCallbackPath.replace(/^\/api/, ''),
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary: 'Where the eID provider sends the browser back',
          description:
            'Checks state, PKCE, nonce, issuer and the level (acr), then logs in (new session id), steps up, or starts registration, and answers 303 to the web app. Every failure answers 303 to one generic page; the log has the reason under the request id.',
          response: {
            303: redirect('To /login/eid-done, /register, or /login/eid-refused?ref=<request id>.'),
          },
        },
      },
      async (request, reply) => {
        noStore(reply);
        const cookies = [expiredCookie(eidLoginCookieName, '/api/eid')];
        try {
          const outcome = await finishEidLogin({
            db,
            keys,
            config,
            callbackUrl: new URL(request.url, config.KUVERT_PUBLIC_URL),
            loginToken: readCookie(request, eidLoginCookieName),
            presentedSessionToken: readSessionToken(request, config.KUVERT_PUBLIC_URL),
            ip: request.ip,
            userAgent: request.headers['user-agent'],
          });
          const returnTo = outcome.returnTo
            ? `?returnTo=${encodeURIComponent(outcome.returnTo)}`
            : '';
          if (outcome.kind === 'register') {
            cookies.push(registrationCookie(outcome.registrationToken));
            reply.header('set-cookie', cookies);
            return reply.redirect(`/register${returnTo}`, 303);
          }
          cookies.push(sessionCookie(outcome.token, config.KUVERT_PUBLIC_URL));
          reply.header('set-cookie', cookies);
          request.log.info({ outcome: outcome.kind }, 'eID login accepted');
          return reply.redirect(`/login/eid-done${returnTo}`, 303);
        } catch (error) {
          reply.header('set-cookie', cookies);
          const reason = error instanceof EidRefusal ? error.reason : String(error);
          return refuse(request, reply, reason);
        }
      },
    );
  };
}

function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
}

/** The precise reason goes to the log under the request id; the person gets the generic page. */
function refuse(request: FastifyRequest, reply: FastifyReply, reason: string) {
  request.log.warn({ reason }, 'eID login refused');
  return reply.redirect(`${refusedPath}?ref=${encodeURIComponent(request.id)}`, 303);
}
