import { type Static, Type } from 'typebox';
import { passphraseMaxLength } from '../../mailboxes/passphrase-policy.js';
import { SafeText } from '../../safe-text.js';
import type { PasskeySummary } from '../passkeys/service.js';

const Uuid = Type.String({ format: 'uuid' });

export const PassphraseBody = Type.Object(
  {
    passphrase: Type.String({
      minLength: 1,
      maxLength: passphraseMaxLength,
      description:
        'The new passphrase: at least 12 characters, not a common password, and hard enough to guess (zxcvbn score 3 or more). No rules about digits or symbols.',
    }),
    current: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: passphraseMaxLength,
        description:
          'The current passphrase; not needed for the first passphrase or in a session that logged in with eID.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type PassphraseBody = Static<typeof PassphraseBody>;

export const PassphraseChanged = Type.Object(
  {
    otherSessionsEnded: Type.Integer({
      description: 'How many other sessions of the mailbox were ended by the change.',
    }),
  },
  { additionalProperties: false },
);

export const TotpEnrolmentBody = Type.Object(
  {
    secret: Type.String({ description: 'Base32, for typing into the app by hand.' }),
    otpauthUri: Type.String({ description: 'The otpauth:// URI, as text to copy.' }),
    qrSvg: Type.String({ description: 'The URI as a QR code, an SVG document.' }),
    expiresInSeconds: Type.Integer({ description: 'Confirm within this time.' }),
  },
  { additionalProperties: false },
);

export const TotpConfirmBody = Type.Object(
  {
    code: SafeText({
      minLength: 6,
      maxLength: 10,
      description: 'A 6-digit code from the new secret; spaces are ignored.',
    }),
  },
  { additionalProperties: false },
);
export type TotpConfirmBody = Static<typeof TotpConfirmBody>;

export const RecoveryCodesBody = Type.Object(
  {
    recoveryCodes: Type.Union([Type.Array(Type.String()), Type.Null()], {
      description:
        'Ten single-use codes, shown this once; null when the mailbox still has unused codes.',
    }),
  },
  { additionalProperties: false },
);

export const Passkey = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    deviceType: Type.Union([Type.Literal('singleDevice'), Type.Literal('multiDevice')]),
    backedUp: Type.Boolean({ description: 'Synced to a cloud account (a multi-device passkey).' }),
    createdAt: Type.String({ format: 'date-time' }),
    lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  },
  { additionalProperties: false },
);
export type Passkey = Static<typeof Passkey>;

export function presentPasskey(passkey: PasskeySummary): Passkey {
  return {
    id: passkey.id,
    name: passkey.name,
    deviceType: passkey.deviceType,
    backedUp: passkey.backedUp,
    createdAt: passkey.createdAt.toISOString(),
    lastUsedAt: passkey.lastUsedAt?.toISOString() ?? null,
  };
}

export const LoginMethodsBody = Type.Object(
  {
    passphrase: Type.Object({ set: Type.Boolean() }, { additionalProperties: false }),
    totp: Type.Object(
      {
        active: Type.Boolean(),
        pending: Type.Boolean({ description: 'An enrolment waits for its first code.' }),
      },
      { additionalProperties: false },
    ),
    recoveryCodes: Type.Object({ unused: Type.Integer() }, { additionalProperties: false }),
    passkeys: Type.Array(Passkey),
    canSetPassphraseWithoutCurrent: Type.Boolean({
      description: 'The session logged in with eID: a (new) passphrase needs no current one.',
    }),
  },
  { additionalProperties: false },
);

export const PasskeyIdParams = Type.Object({ passkeyId: Uuid });

/** The browser's PublicKeyCredential as JSON (WebAuthn §5.1.8); SimpleWebAuthn checks the rest. */
const CredentialJson = (description: string) =>
  Type.Object(
    {
      id: Type.String({ minLength: 1, maxLength: 1024 }),
      rawId: Type.String({ minLength: 1, maxLength: 1024 }),
      type: Type.Literal('public-key'),
      response: Type.Object({}, { additionalProperties: true }),
      clientExtensionResults: Type.Object({}, { additionalProperties: true }),
      authenticatorAttachment: Type.Optional(Type.String()),
    },
    { additionalProperties: true, description },
  );

export const PasskeyRegistrationBody = Type.Object(
  {
    credential: CredentialJson('The result of navigator.credentials.create(), as JSON.'),
    name: Type.Optional(
      SafeText({ minLength: 1, maxLength: 60, description: 'A name to recognise the passkey by.' }),
    ),
  },
  { additionalProperties: false },
);

export const PasskeyLoginBody = Type.Object(
  { credential: CredentialJson('The result of navigator.credentials.get(), as JSON.') },
  { additionalProperties: false },
);

export const WebAuthnOptions = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'PublicKeyCredential options as JSON, for @simplewebauthn/browser.',
  },
);
