import { type Static, Type } from 'typebox';
import type { Language } from '../db/schema.js';
import { antiPhishingPhraseMaxLength } from '../mailboxes/anti-phishing.js';
import { passphraseMaxLength } from '../mailboxes/service.js';
import { SafeText } from '../safe-text.js';
import type { RecipientSession } from './sessions.js';

export const LoginBody = Type.Object(
  {
    nationalId: SafeText({
      minLength: 1,
      maxLength: 32,
      description:
        'National identity number (fødselsnummer or D-number), 11 digits; spaces are ignored.',
    }),
    // The passphrase is hashed, never stored or shown as text: any character may be in it.
    password: Type.String({
      minLength: 1,
      maxLength: passphraseMaxLength,
      description: 'The passphrase.',
    }),
    totp: Type.Optional(
      SafeText({
        minLength: 6,
        maxLength: 10,
        description: 'The 6-digit code from the authenticator app; spaces are ignored.',
      }),
    ),
    recoveryCode: Type.Optional(
      SafeText({
        minLength: 10,
        maxLength: 20,
        description:
          'Instead of totp: one of the mailbox’s single-use recovery codes; case, spaces and dashes are ignored.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const SessionBody = Type.Object(
  {
    mailbox: Type.Object({
      id: Type.String({ format: 'uuid' }),
      language: Type.Union([Type.Literal('nb'), Type.Literal('nn'), Type.Literal('en')]),
    }),
    csrfToken: Type.String({
      description: 'Send it as the X-CSRF-Token header on every request that changes something.',
    }),
    expiresAt: Type.String({
      format: 'date-time',
      description:
        'When the session ends at the latest (12 hours after login); 30 minutes without requests end it earlier.',
    }),
  },
  { additionalProperties: false },
);
export type SessionBody = Static<typeof SessionBody>;

/** The allow-list of what a client learns about its session: never the token or its hash. */
export function presentSession(options: {
  session: RecipientSession;
  mailbox: { id: string; language: Language };
}): SessionBody {
  return {
    mailbox: { id: options.mailbox.id, language: options.mailbox.language },
    csrfToken: options.session.csrfToken,
    expiresAt: options.session.expiresAt.toISOString(),
  };
}

// ---------------------------------------------------------------------------------------
// The person's own sessions, login history and anti-phishing phrase (/api/me/…)

const Device = Type.Object(
  {
    browser: Type.Union([Type.String(), Type.Null()], {
      description: 'Browser and major version, e.g. "Firefox 133"; null when not recognised.',
    }),
    os: Type.Union([Type.String(), Type.Null()], {
      description: 'Operating system, e.g. "Windows"; null when not recognised.',
    }),
  },
  { additionalProperties: false },
);

export const SessionList = Type.Object(
  {
    sessions: Type.Array(
      Type.Object(
        {
          id: Type.String({
            pattern: '^[0-9a-f]{64}$',
            description: 'Names the session for revoking it.',
          }),
          device: Device,
          authLevel: Type.String(),
          createdAt: Type.String({ format: 'date-time' }),
          lastSeenAt: Type.String({ format: 'date-time' }),
          expiresAt: Type.String({ format: 'date-time' }),
          current: Type.Boolean({ description: 'The session of the device asking.' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SessionList = Static<typeof SessionList>;

export const SessionIdParams = Type.Object(
  { sessionId: Type.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false },
);

export const RevokeSessionsQuery = Type.Object(
  {
    everywhere: Type.Optional(
      Type.Boolean({
        description: 'Also end the session asking (log out everywhere); by default it stays.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const RevokedSessions = Type.Object(
  { revoked: Type.Integer({ minimum: 0, description: 'How many sessions were ended.' }) },
  { additionalProperties: false },
);

export const LoginHistory = Type.Object(
  {
    entries: Type.Array(
      Type.Object(
        {
          at: Type.String({ format: 'date-time' }),
          outcome: Type.Union([
            Type.Literal('succeeded'),
            Type.Literal('failed'),
            Type.Literal('locked_out'),
          ]),
          method: Type.Union([Type.String(), Type.Null()]),
          device: Device,
          network: Type.Union([Type.String(), Type.Null()], {
            description: 'The IPv4 /24 or IPv6 /48 the attempt came from; never a full address.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const AntiPhishingBody = Type.Object(
  {
    phrase: SafeText({
      minLength: 1,
      maxLength: 256,
      description: `The personal phrase every notification email shows; at most ${antiPhishingPhraseMaxLength} characters after trimming.`,
    }),
  },
  { additionalProperties: false },
);

export const AntiPhishingPhrase = Type.Object(
  { phrase: Type.Union([Type.String(), Type.Null()]) },
  { additionalProperties: false },
);
