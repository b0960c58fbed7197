import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { assertSameOrigin } from '../auth/csrf.js';
import { expiredCookie, readCookie, registrationCookieName } from '../auth/eid.js';
import { presentSession, SessionBody } from '../auth/schemas.js';
import { requireRecipient, sessionCookie } from '../auth/sessions.js';
import type { AppContext } from '../context.js';
import { SafeText } from '../safe-text.js';
import type { ContactChannel } from './queries.js';
import {
  completeRegistration,
  describeContact,
  describeRegistration,
  requestContactCode,
  verifyContactCode,
} from './service.js';

const LanguageName = Type.Union([Type.Literal('nb'), Type.Literal('nn'), Type.Literal('en')]);
const Level = Type.Union([
  Type.Literal('two-factor'),
  Type.Literal('eid-substantial'),
  Type.Literal('eid-high'),
]);

const RegistrationBody = Type.Object({ level: Level, termsVersion: Type.String() });
const AcceptBody = Type.Object(
  {
    acceptTerms: Type.Literal(true, { description: 'The person accepted the terms shown.' }),
    termsVersion: SafeText({ minLength: 1, maxLength: 40 }),
    language: LanguageName,
  },
  { additionalProperties: false },
);
const ContactBody = Type.Object({
  language: LanguageName,
  email: Type.Union([Type.String(), Type.Null()]),
  phone: Type.Union([Type.String(), Type.Null()]),
  phoneVerified: Type.Boolean(),
  pendingEmail: Type.Union([Type.String(), Type.Null()]),
  pendingPhone: Type.Union([Type.String(), Type.Null()]),
});
const EmailRequest = Type.Object(
  { email: SafeText({ minLength: 3, maxLength: 254 }) },
  { additionalProperties: false },
);
const PhoneRequest = Type.Object(
  { phone: SafeText({ minLength: 8, maxLength: 24, description: 'E.164, e.g. +4791234567.' }) },
  { additionalProperties: false },
);
const CodeRequest = Type.Object(
  { code: SafeText({ minLength: 6, maxLength: 10 }) },
  { additionalProperties: false },
);

/**
 * Registration after a first eID login (the pending registration is in a Strict cookie), and
 * the notification addresses, each confirmed by a one-time code before it is used.
 */
export function registrationRoutes(context: AppContext): FastifyPluginAsyncTypebox {
  const { config } = context;
  return async (app) => {
    app.get(
      '/register',
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary: 'The registration in progress after a first eID login',
          description: '401 when this browser has none (or it expired).',
          response: { 200: RegistrationBody },
        },
      },
      async (request, reply) => {
        reply.header('cache-control', 'no-store');
        return describeRegistration(context, readCookie(request, registrationCookieName));
      },
    );

    app.post(
      '/register',
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary: 'Accept the terms and open the mailbox',
          description:
            'Records the acceptance with its time and the terms version, opens the mailbox (no passphrase yet) and starts a session at the eID level.',
          body: AcceptBody,
          response: { 200: SessionBody },
        },
      },
      async (request, reply) => {
        assertSameOrigin(request, config.KUVERT_PUBLIC_URL);
        reply.header('cache-control', 'no-store');
        const registered = await completeRegistration(context, {
          token: readCookie(request, registrationCookieName),
          acceptedTermsVersion: request.body.termsVersion,
          language: request.body.language,
          ip: request.ip,
          userAgent: request.headers['user-agent'],
        });
        reply.header('set-cookie', [
          expiredCookie(registrationCookieName, '/api/register'),
          sessionCookie(registered.token, context.config.KUVERT_PUBLIC_URL),
        ]);
        return presentSession(registered);
      },
    );

    const recipient = {
      config: { access: 'recipient' as const },
      preValidation: requireRecipient(context),
    };
    const security = [{ session: [] }];

    app.get(
      '/contact',
      {
        ...recipient,
        schema: {
          tags: ['recipient'],
          summary: 'Language and notification addresses',
          security,
          response: { 200: ContactBody },
        },
      },
      async (request) => describeContact(context, mailboxOf(request)),
    );

    for (const channel of ['email', 'phone'] as const satisfies ContactChannel[]) {
      app.post(
        `/contact/${channel}`,
        {
          ...recipient,
          schema: {
            tags: ['recipient'],
            summary: `Send a one-time code to a new ${channel === 'email' ? 'email address' : 'phone number'}`,
            description:
              'The address is used only after the code comes back. The answer is 204 whatever the address.',
            security,
            body: channel === 'email' ? EmailRequest : PhoneRequest,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          const body = request.body as { email?: string; phone?: string };
          await requestContactCode(context, {
            mailboxId: mailboxOf(request),
            channel,
            address: body.email ?? body.phone ?? '',
          });
          return reply.code(204).send(null);
        },
      );

      app.post(
        `/contact/${channel}/verify`,
        {
          ...recipient,
          schema: {
            tags: ['recipient'],
            summary: `Confirm the ${channel === 'email' ? 'email address' : 'phone number'} with its code`,
            security,
            body: CodeRequest,
            response: { 204: Type.Null() },
          },
        },
        async (request, reply) => {
          await verifyContactCode(context, {
            mailboxId: mailboxOf(request),
            channel,
            code: request.body.code,
          });
          return reply.code(204).send(null);
        },
      );
    }
  };
}

function mailboxOf(request: FastifyRequest): string {
  return request.recipient!.mailboxId;
}
