import { type Static, Type } from 'typebox';
import { SafeText } from '../safe-text.js';

const Uuid = Type.String({ format: 'uuid', description: 'A UUID.' });

export const LetterMetadata = Type.Object(
  {
    messageId: Type.String({
      format: 'uuid',
      description:
        "The sender's own id for this letter: resending the same content with it returns the same letter. Case does not matter; it is stored and returned in lower case.",
    }),
    recipient: Type.Union([
      Type.Object(
        { nationalId: SafeText({ minLength: 1, maxLength: 32 }) },
        { additionalProperties: false },
      ),
      Type.Object(
        { email: SafeText({ format: 'email', maxLength: 254 }) },
        { additionalProperties: false },
      ),
    ]),
    subject: SafeText({
      minLength: 1,
      maxLength: 200,
      description:
        'One line of text shown to the recipient. Control characters, line breaks and bidirectional formatting characters are refused (422).',
    }),
    authLevel: Type.Optional(
      Type.Union(
        [Type.Literal('two-factor'), Type.Literal('eid-substantial'), Type.Literal('eid-high')],
        {
          description:
            'The login the recipient needs to open the letter: `two-factor` (default: passphrase and a second factor, a passkey, or eID), `eid-substantial` or `eid-high` (eID at that level). The inbox lists the letter either way; its content needs the level.',
        },
      ),
    ),
  },
  { additionalProperties: false, $id: 'LetterMetadata' },
);
export type LetterMetadata = Static<typeof LetterMetadata>;

export const LetterStatusName = Type.Union([
  Type.Literal('delivered'),
  Type.Literal('notified'),
  Type.Literal('read'),
]);

export const SenderLetter = Type.Object({
  id: Uuid,
  messageId: Uuid,
  status: LetterStatusName,
  deliveredAt: Type.String({ format: 'date-time' }),
  notifiedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
export type SenderLetter = Static<typeof SenderLetter>;

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    requestId: Type.String(),
  },
  { description: 'RFC 9457 problem details.', additionalProperties: true },
);

export const LetterIdParams = Type.Object({ id: Uuid });
export const DocumentParams = Type.Object({ id: Uuid, documentId: Uuid });

export const RecipientDocument = Type.Object({
  id: Uuid,
  filename: Type.String(),
  contentType: Type.String(),
  sizeBytes: Type.Integer(),
  pageCount: Type.Integer(),
});

export const RecipientLetter = Type.Object({
  id: Uuid,
  subject: Type.String(),
  sender: Type.Object({ name: Type.String() }),
  deliveredAt: Type.String({ format: 'date-time' }),
  readAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  authLevel: Type.Union(
    [Type.Literal('two-factor'), Type.Literal('eid-substantial'), Type.Literal('eid-high')],
    { description: 'The login the letter needs.' },
  ),
  stepUpRequired: Type.Boolean({
    description:
      'True when this session is below `authLevel`: log in with eID at that level to open it. The documents are then not listed.',
  }),
  documents: Type.Array(RecipientDocument),
});
export type RecipientLetter = Static<typeof RecipientLetter>;

export const Inbox = Type.Object({ letters: Type.Array(RecipientLetter) });
