import { type Static, Type } from 'typebox';
import type { Language } from '../db/schema.js';
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
