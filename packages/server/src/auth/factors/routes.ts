import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppContext } from '../../context.js';
import { KuvertError } from '../../errors.js';
import { assertSameOrigin } from '../csrf.js';
import { meetsLevel } from '../levels.js';
import {
  finishPasskeyLogin,
  finishPasskeyRegistration,
  listMailboxPasskeys,
  relyingPartyFor,
  removePasskey,
  startPasskeyLogin,
  startPasskeyRegistration,
} from '../passkeys/service.js';
import { presentSession, SessionBody } from '../schemas.js';
import {
  type RecipientSession,
  readSessionToken,
  requireRecipient,
  sessionCookie,
} from '../sessions.js';
import { setPassphrase } from './passphrase.js';
import { countUnusedRecoveryCodes, findFactorState } from './queries.js';
import { generateRecoveryCodes } from './recovery-codes.js';
import {
  LoginMethodsBody,
  Passkey,
  PasskeyIdParams,
  PasskeyLoginBody,
  PasskeyRegistrationBody,
  PassphraseBody,
  PassphraseChanged,
  presentPasskey,
  RecoveryCodesBody,
  TotpConfirmBody,
  TotpEnrolmentBody,
  WebAuthnOptions,
} from './schemas.js';
import {
  confirmTotpEnrolment,
  startTotpEnrolment,
  totpEnrolmentSeconds,
} from './totp-enrolment.js';

type FactorsContext = Pick<AppContext, 'config' | 'db' | 'keys'>;

function recipientOf(request: FastifyRequest): RecipientSession {
  if (!request.recipient) throw new KuvertError('unauthenticated');
  return request.recipient;
}

const session = [{ session: [] }];

/**
 * The login methods a recipient manages from settings, under /api/me, and
 * the passwordless passkey login beside POST /api/session.
 */
export function loginMethodsRoutes(context: FactorsContext): FastifyPluginAsyncTypebox {
  const { config, db, keys } = context;
  const rp = relyingPartyFor(config.KUVERT_PUBLIC_URL);
  const recipientOnly = {
    config: { access: 'recipient' as const },
    preValidation: requireRecipient(context),
  };
  return async (app) => {
    app.get(
      '/me/login-methods',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'The login methods of the mailbox',
          security: session,
          response: { 200: LoginMethodsBody },
        },
      },
      async (request) => {
        const recipient = recipientOf(request);
        const state = await findFactorState(db, recipient.mailboxId);
        if (!state) throw new KuvertError('unauthenticated');
        const passkeys = await listMailboxPasskeys({ db, recipient });
        return {
          passphrase: { set: state.password_hash !== null },
          totp: { active: state.totp_secret_sealed !== null, pending: state.totp_pending },
          recoveryCodes: { unused: await countUnusedRecoveryCodes(db, recipient.mailboxId) },
          passkeys: passkeys.map(presentPasskey),
          canSetPassphraseWithoutCurrent: meetsLevel(recipient.authLevel, 'eid-substantial'),
        };
      },
    );

    app.put(
      '/me/passphrase',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Set or change the passphrase',
          description:
            'The first passphrase needs a session that logged in with eID; a change needs the current passphrase or such a session (that is how a forgotten passphrase is reset). A weak, common or too short passphrase answers 422 validation_failed with passphraseProblem. Ends the other sessions of the mailbox. Needs X-CSRF-Token.',
          security: session,
          body: PassphraseBody,
          response: { 200: PassphraseChanged },
        },
      },
      async (request) =>
        setPassphrase({
          db,
          keys,
          recipient: recipientOf(request),
          passphrase: request.body.passphrase,
          current: request.body.current,
          ip: request.ip,
        }),
    );

    app.post(
      '/me/totp',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Start a TOTP enrolment (or replacement)',
          description:
            'A new secret as a QR code and as text. The active secret, if any, keeps working until the new one is confirmed with POST /api/me/totp/confirm. Needs X-CSRF-Token.',
          security: session,
          response: { 200: TotpEnrolmentBody },
        },
      },
      async (request) => ({
        ...(await startTotpEnrolment({
          db,
          keys,
          recipient: recipientOf(request),
          ip: request.ip,
        })),
        expiresInSeconds: totpEnrolmentSeconds,
      }),
    );

    app.post(
      '/me/totp/confirm',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Confirm a TOTP enrolment with a first code',
          description:
            'Makes the pending secret the active one. Returns ten recovery codes, shown once, when the mailbox has no unused ones. Needs X-CSRF-Token.',
          security: session,
          body: TotpConfirmBody,
          response: { 200: RecoveryCodesBody },
        },
      },
      async (request) =>
        confirmTotpEnrolment({
          db,
          keys,
          recipient: recipientOf(request),
          code: request.body.code,
          ip: request.ip,
        }),
    );

    app.post(
      '/me/recovery-codes',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Make a new set of recovery codes',
          description:
            'Ten single-use codes, shown once; the previous set stops working. Needs X-CSRF-Token.',
          security: session,
          response: { 200: RecoveryCodesBody },
        },
      },
      async (request) => {
        const recipient = recipientOf(request);
        const recoveryCodes = await db
          .transaction()
          .execute((tx) => generateRecoveryCodes({ db: tx, keys, recipient, ip: request.ip }));
        return { recoveryCodes };
      },
    );

    app.post(
      '/me/passkeys/registration-options',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Start registering a passkey',
          description:
            'Options for navigator.credentials.create(): user verification required, a discoverable credential preferred. The challenge works once, for five minutes. Needs X-CSRF-Token.',
          security: session,
          response: { 200: WebAuthnOptions },
        },
      },
      async (request) =>
        startPasskeyRegistration({ db, keys, rp, recipient: recipientOf(request) }),
    );

    app.post(
      '/me/passkeys',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Finish registering a passkey',
          description:
            'Any failure answers 400 passkey_failed; the log has the reason. Needs X-CSRF-Token.',
          security: session,
          body: PasskeyRegistrationBody,
          response: { 201: Passkey },
        },
      },
      async (request, reply) => {
        const passkey = await finishPasskeyRegistration({
          db,
          keys,
          rp,
          recipient: recipientOf(request),
          response: request.body.credential as unknown as RegistrationResponseJSON,
          name: request.body.name,
          ip: request.ip,
        });
        return reply.code(201).send(presentPasskey(passkey));
      },
    );

    app.delete(
      '/me/passkeys/:passkeyId',
      {
        ...recipientOnly,
        schema: {
          tags: ['recipient'],
          summary: 'Remove a passkey',
          description:
            'Another mailbox’s passkey answers 404, like one that does not exist. Needs X-CSRF-Token.',
          security: session,
          params: PasskeyIdParams,
          response: { 204: Type.Null({ description: 'Removed' }) },
        },
      },
      async (request, reply) => {
        await removePasskey({
          db,
          keys,
          recipient: recipientOf(request),
          passkeyId: request.params.passkeyId,
          ip: request.ip,
        });
        return reply.code(204).send(null);
      },
    );

    app.post(
      '/session/passkey-options',
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary: 'Start a passwordless login with a passkey',
          description:
            'Options for navigator.credentials.get() with discoverable credentials: no identity number is typed. The challenge works once, for five minutes. One address may hold 20 unused challenges at a time; more answer 429 rate_limited.',
          response: { 200: WebAuthnOptions },
        },
      },
      async (request, reply) => {
        assertSameOrigin(request, config.KUVERT_PUBLIC_URL);
        reply.header('cache-control', 'no-store');
        return startPasskeyLogin({ db, rp, ip: request.ip });
      },
    );

    app.post(
      '/session/passkey',
      {
        config: { access: 'public' },
        schema: {
          tags: ['recipient'],
          summary: 'Log in with a passkey',
          description:
            'Verifies the assertion and sets the session cookie, like POST /api/session; the session level is two-factor. Every failure answers 401 login_failed.',
          body: PasskeyLoginBody,
          response: { 200: SessionBody },
        },
      },
      async (request, reply) => {
        // Login CSRF: a foreign page must not log the browser into someone else's mailbox.
        assertSameOrigin(request, config.KUVERT_PUBLIC_URL);
        const loggedIn = await finishPasskeyLogin({
          db,
          keys,
          rp,
          response: request.body.credential as unknown as AuthenticationResponseJSON,
          ip: request.ip,
          userAgent: request.headers['user-agent'],
          presentedToken: readSessionToken(request, config.KUVERT_PUBLIC_URL),
        });
        reply.header('set-cookie', sessionCookie(loggedIn.token, config.KUVERT_PUBLIC_URL));
        reply.header('cache-control', 'no-store');
        return presentSession(loggedIn);
      },
    );
  };
}
