import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import {
  buildRecipient,
  buildSender,
  loginAs,
  sendLetter,
  type TestRecipient,
  type TestSender,
} from '../../test/support/factories.js';
import { KuvertError } from '../errors.js';
import { asciiFallback, contentDisposition, encodeExtValue } from '../http/content-disposition.js';
import { generateSyntheticNationalId } from '../mailboxes/national-id.js';
import { createMailbox } from '../mailboxes/service.js';
import {
  displaySafe,
  explainUnsafeText,
  findUnsafeCharacter,
  safeTextPattern,
} from '../safe-text.js';
import { createSender } from '../senders/service.js';

/**
 * Text that reaches the database or a browser. One rule (safe-text.ts) for
 * every free-text field; a refusal is a 422 that says which field and what was found.
 */
let kuvert: TestKuvert;
let sender: TestSender;
let recipient: TestRecipient;

beforeAll(async () => {
  kuvert = await startTestKuvert();
  sender = await buildSender(kuvert.context);
  recipient = await buildRecipient(kuvert.context);
});
afterAll(() => kuvert?.close());

async function countLetters(): Promise<number> {
  const row = await kuvert.context.db
    .selectFrom('letters')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const refusedExamples: Array<[string, string]> = [
  ['NULL', '\u0000'],
  ['a tab', '\t'],
  ['a line feed', '\n'],
  ['DEL', '\u007f'],
  ['a C1 control (NEL)', '\u0085'],
  ['a C1 control (CSI)', '\u009b'],
  ['RIGHT-TO-LEFT OVERRIDE', '\u202e'],
  ['LEFT-TO-RIGHT EMBEDDING', '\u202a'],
  ['RIGHT-TO-LEFT ISOLATE', '\u2067'],
  ['POP DIRECTIONAL ISOLATE', '\u2069'],
  ['LEFT-TO-RIGHT MARK', '\u200e'],
  ['RIGHT-TO-LEFT MARK', '\u200f'],
  ['ARABIC LETTER MARK', '\u061c'],
  ['LINE SEPARATOR', '\u2028'],
  ['an unpaired surrogate', '\ud800'],
];

const hex = (text: string) =>
  `U+${text.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;

describe('the safe-text rule', () => {
  it('the schema pattern and the explanation agree on every code point', () => {
    const pattern = new RegExp(safeTextPattern, 'u');
    const disagreements: string[] = [];
    for (let codePoint = 0; codePoint <= 0x10ffff; codePoint++) {
      // Only the BMP and the first astral plane: the rule is about BMP characters.
      if (codePoint > 0x1ffff) break;
      const text = String.fromCodePoint(codePoint);
      if (pattern.test(text) === (findUnsafeCharacter(text) !== undefined)) {
        disagreements.push(codePoint.toString(16));
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('keeps ordinary text of any script, emoji included', () => {
    for (const text of ['Skattemelding 2026 – æøå ÆØÅ', 'שלום', 'مرحبا', '😀 🇳🇴', 'a\u00a0b']) {
      expect(findUnsafeCharacter(text), text).toBeUndefined();
      expect(new RegExp(safeTextPattern, 'u').test(text), text).toBe(true);
    }
  });

  it('names the field, the character and where it was found, never the text', () => {
    expect(explainUnsafeText('metadata.subject', 'invoice\u202efdp.exe')).toBe(
      'metadata.subject contains a bidirectional formatting character (U+202E RIGHT-TO-LEFT OVERRIDE) at character 8: control characters, line breaks and bidirectional formatting characters are not allowed.',
    );
    expect(explainUnsafeText('name', 'ok')).toBeUndefined();
  });

  it('shows text stored before the rule with each refused character as U+FFFD', () => {
    expect(displaySafe('invoice\u202efdp.exe')).toBe('invoice\ufffdfdp.exe');
    expect(displaySafe('plain 😀')).toBe('plain 😀');
  });
});

describe('letter metadata and file names (POST /api/v1/letters)', () => {
  it.each(refusedExamples)(
    'a subject with %s is a 422 naming field and character; nothing stored',
    async (_name, character) => {
      const before = await countLetters();
      const response = await sendLetter(kuvert.app, sender, {
        recipient: { nationalId: recipient.nationalId },
        subject: `Invoice ${character} 2026`,
      });
      expect(response.statusCode).toBe(422);
      expect(response.json().code).toBe('validation_failed');
      expect(response.json().detail).toContain('metadata.subject contains');
      expect(response.json().detail).toContain(hex(character));
      expect(await countLetters()).toBe(before);
    },
  );

  it('a file name with a right-to-left override is refused, not displayed as invoiceexe.pdf', async () => {
    const before = await countLetters();
    const response = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      filename: 'invoice\u202efdp.exe',
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toContain('document filename contains');
    expect(response.json().detail).toContain('U+202E RIGHT-TO-LEFT OVERRIDE');
    expect(await countLetters()).toBe(before);
  });

  it('a file name with a C1 control character is refused', async () => {
    const response = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      filename: 'report\u0085.pdf',
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toContain('U+0085');
  });

  it('a national identity number with NUL is a 422 naming it inside the recipient', async () => {
    const response = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: `${recipient.nationalId.slice(0, 5)}\u0000` },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toContain('metadata.recipient.nationalId contains');
    expect(response.json().detail).toContain('U+0000');
  });

  it('an email recipient with a bidirectional isolate is a 422', async () => {
    const response = await sendLetter(kuvert.app, sender, {
      recipient: { email: `a\u2066b@recipients.test` },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toContain('metadata.recipient.email contains');
  });

  it('text of any script and emoji is delivered and shown unchanged', async () => {
    const reader = await buildRecipient(kuvert.context);
    const subject = 'Skattemelding 2026 – æøå ÆØÅ שלום 😀';
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: reader.nationalId },
      subject,
      filename: 'brev æøå 😀.pdf',
    });
    expect(sent.statusCode).toBe(201);
    const session = await loginAs(kuvert.app, reader);
    const inbox = await kuvert.app.inject({
      method: 'GET',
      url: '/api/letters',
      headers: { cookie: session.cookie },
    });
    const [letter] = inbox.json().letters;
    expect(letter.subject).toBe(subject);
    expect(letter.documents[0].filename).toBe('brev æøå 😀.pdf');
  });

  it('a subject or file name stored before the rule is shown with U+FFFD in its place', async () => {
    const reader = await buildRecipient(kuvert.context);
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: reader.nationalId },
    });
    const letterId = sent.json().id as string;
    const { db } = kuvert.context;
    await db
      .updateTable('letters')
      .set({ subject: 'Faktura \u202efdp.exe' })
      .where('id', '=', letterId)
      .execute();
    await db
      .updateTable('documents')
      .set({ filename: 'invoice\u202efdp.exe' })
      .where('letter_id', '=', letterId)
      .execute();
    const session = await loginAs(kuvert.app, reader);
    const letter = await kuvert.app.inject({
      method: 'GET',
      url: `/api/letters/${letterId}`,
      headers: { cookie: session.cookie },
    });
    expect(letter.json().subject).toBe('Faktura \ufffdfdp.exe');
    expect(letter.json().documents[0].filename).toBe('invoice\ufffdfdp.exe');
    const content = await kuvert.app.inject({
      method: 'GET',
      url: `/api/letters/${letterId}/documents/${letter.json().documents[0].id}/content`,
      headers: { cookie: session.cookie },
    });
    expect(content.headers['content-disposition']).toBe(
      `inline; filename="invoice_fdp.exe"; filename*=UTF-8''invoice%EF%BF%BDfdp.exe`,
    );
  });
});

describe('messageId is a UUID whatever its case', () => {
  it('upper case then lower case is the same letter: 201, then 200 with the same id', async () => {
    const messageId = randomUUID();
    const first = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      messageId: messageId.toUpperCase(),
    });
    expect(first.statusCode).toBe(201);
    expect(first.json().messageId).toBe(messageId);
    const again = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      messageId,
    });
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);
    expect(again.json().messageId).toBe(messageId);
  });
});

describe('login fields', () => {
  it('a national identity number with NUL is a 422 naming body.nationalId', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: testPublicUrl },
      payload: { nationalId: '0101\u000080123', password: 'whatever it is', totp: '123456' },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json().detail).toContain('body.nationalId contains a control character');
  });
});

describe('CLI inputs that reach the database go through the same rule', () => {
  it('a sender name with a right-to-left override is refused', async () => {
    const error = await createSender({
      db: kuvert.context.db,
      keys: kuvert.context.keys,
      name: `Bank \u202e${randomUUID()}`,
      actor: 'test',
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertError);
    expect((error as KuvertError).code).toBe('validation_failed');
    expect((error as KuvertError).detail).toContain('name contains');
  });

  it('a mailbox email with NUL is refused', async () => {
    const error = await createMailbox({
      db: kuvert.context.db,
      keys: kuvert.context.keys,
      nationalId: generateSyntheticNationalId(),
      email: `a\u0000b@recipients.test`,
      language: 'nb',
      password: 'lantern over the quiet harbour 42',
      acceptSynthetic: true,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertError);
    expect((error as KuvertError).detail).toContain('email contains');
  });
});

describe('Content-Disposition of document downloads (RFC 6266, RFC 8187)', () => {
  it('filename* percent-encodes every byte that is not an attr-char', () => {
    const attrChars = /^[A-Za-z0-9!#$&+\-.^_`|~]$/;
    for (let code = 0x20; code < 0x7f; code++) {
      const character = String.fromCharCode(code);
      const encoded = encodeExtValue(character).slice("UTF-8''".length);
      expect(encoded, character).toBe(
        attrChars.test(character)
          ? character
          : `%${code.toString(16).toUpperCase().padStart(2, '0')}`,
      );
    }
  });

  it("encodes ' ( ) * and non-ASCII, and decodes back to the name", () => {
    const name = "Brev (kopi) 'endelig' *2026* – æ.pdf";
    const value = encodeExtValue(name);
    expect(value).toBe(
      "UTF-8''Brev%20%28kopi%29%20%27endelig%27%20%2A2026%2A%20%E2%80%93%20%C3%A6.pdf",
    );
    expect(decodeURIComponent(value.slice("UTF-8''".length))).toBe(name);
  });

  it('the filename= fallback is printable ASCII without quote, backslash or percent', () => {
    expect(asciiFallback('a"b\\c%d æ.pdf')).toBe('a_b_c_d _.pdf');
    expect(contentDisposition('inline', 'Brev (kopi).pdf')).toBe(
      `inline; filename="Brev (kopi).pdf"; filename*=UTF-8''Brev%20%28kopi%29.pdf`,
    );
  });

  it('a download carries both, encoded', async () => {
    const reader = await buildRecipient(kuvert.context);
    const filename = "Brev (kopi) 'endelig' *2026* æ.pdf";
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: reader.nationalId },
      filename,
    });
    const session = await loginAs(kuvert.app, reader);
    const letter = await kuvert.app.inject({
      method: 'GET',
      url: `/api/letters/${sent.json().id}`,
      headers: { cookie: session.cookie },
    });
    const content = await kuvert.app.inject({
      method: 'GET',
      url: `/api/letters/${sent.json().id}/documents/${letter.json().documents[0].id}/content`,
      headers: { cookie: session.cookie },
    });
    expect(content.headers['content-disposition']).toBe(
      `inline; filename="Brev (kopi) 'endelig' *2026* _.pdf"; filename*=UTF-8''Brev%20%28kopi%29%20%27endelig%27%20%2A2026%2A%20%C3%A6.pdf`,
    );
  });
});
