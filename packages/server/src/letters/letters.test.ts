import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import {
  buildRecipient,
  buildSender,
  loginAs,
  samplePdf,
  sendLetter,
  signedInject,
  type TestRecipient,
  type TestSender,
  testHost,
} from '../../test/support/factories.js';
import { buildBombPdf, buildPdfWithJavaScript, notAPdf } from '../../test/support/pdfs.js';

let kuvert: TestKuvert;
let sender: TestSender;
let recipient: TestRecipient;

beforeAll(async () => {
  kuvert = await startTestKuvert();
  sender = await buildSender(kuvert.context);
  recipient = await buildRecipient(kuvert.context);
});
afterAll(() => kuvert?.close());

async function countRows() {
  const letters = await kuvert.context.db
    .selectFrom('letters')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  const documents = await kuvert.context.db
    .selectFrom('documents')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return { letters: Number(letters.n), documents: Number(documents.n) };
}

async function blobFiles(): Promise<string[]> {
  const root = path.join(kuvert.dataDir, 'blobs');
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else found.push(full);
    }
  };
  await walk(root);
  return found;
}

describe('POST /api/v1/letters', () => {
  it('delivers a letter to a mailbox found by national identity number: 201 with id and status', async () => {
    const response = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
    });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ status: 'delivered', notifiedAt: null, readAt: null });
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.location).toBe(`/api/v1/letters/${body.id}`);
  });

  it('delivers by email address too', async () => {
    const response = await sendLetter(kuvert.app, sender, {
      recipient: { email: recipient.email.toUpperCase() },
    });
    expect(response.statusCode).toBe(201);
  });

  it('answers the same letter for the same messageId and content, and 409 for other content', async () => {
    const messageId = randomUUID();
    const first = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      messageId,
    });
    const again = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      messageId,
    });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(again.json().id).toBe(first.json().id);

    const other = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      messageId,
      subject: 'A different subject',
    });
    expect(other.statusCode).toBe(409);
    expect(other.headers['content-type']).toContain('application/problem+json');
    expect(other.json().code).toBe('idempotency_conflict');
  });

  it('stores one letter when two identical requests race', async () => {
    const messageId = randomUUID();
    const before = await countRows();
    const [a, b] = await Promise.all([
      sendLetter(kuvert.app, sender, {
        recipient: { nationalId: recipient.nationalId },
        messageId,
      }),
      sendLetter(kuvert.app, sender, {
        recipient: { nationalId: recipient.nationalId },
        messageId,
      }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 201]);
    expect(a.json().id).toBe(b.json().id);
    expect(await countRows()).toEqual({
      letters: before.letters + 1,
      documents: before.documents + 1,
    });
  });

  it('another sender may reuse a messageId: ids are per sender', async () => {
    const messageId = randomUUID();
    const other = await buildSender(kuvert.context, { algorithm: 'ecdsa-p256-sha256' });
    const a = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
      messageId,
    });
    const b = await sendLetter(kuvert.app, other, {
      recipient: { nationalId: recipient.nationalId },
      messageId,
    });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().id).not.toBe(b.json().id);
  });

  describe('refusals store nothing', () => {
    const cases: Array<
      [string, () => Promise<{ statusCode: number; json(): { code: string } }>, number, string]
    > = [
      [
        'an invalid national identity number',
        () => sendLetter(kuvert.app, sender, { recipient: { nationalId: '01010112345' } }),
        422,
        'invalid_national_id',
      ],
      [
        'a recipient without a mailbox',
        async () =>
          sendLetter(kuvert.app, sender, { recipient: { email: 'nobody@recipients.test' } }),
        422,
        'recipient_not_found',
      ],
      [
        'a file that is not a PDF',
        async () =>
          sendLetter(kuvert.app, sender, {
            recipient: { nationalId: recipient.nationalId },
            pdf: notAPdf(),
          }),
        422,
        'document_rejected',
      ],
      [
        'a PDF with JavaScript',
        async () =>
          sendLetter(kuvert.app, sender, {
            recipient: { nationalId: recipient.nationalId },
            pdf: await buildPdfWithJavaScript(),
          }),
        422,
        'document_rejected',
      ],
    ];
    cases.push([
      'a decompression bomb',
      async () =>
        sendLetter(kuvert.app, sender, {
          recipient: { nationalId: recipient.nationalId },
          pdf: buildBombPdf('metadataFlateOfFlate'),
        }),
      422,
      'document_rejected',
    ]);
    it.each(cases)('%s', async (_name, send, status, code) => {
      const rowsBefore = await countRows();
      const blobsBefore = (await blobFiles()).length;
      // Watch the real blob store: a refused document must never be written, not even briefly.
      // (An unknown recipient is learnt in the letter's one statement, after the write; that
      // ciphertext of an accepted document is removed again, as the blob count shows.)
      const writes = vi.spyOn(kuvert.context.blobs, 'put');
      try {
        const response = await send();
        expect(response.statusCode).toBe(status);
        expect(response.json().code).toBe(code);
        if (code !== 'recipient_not_found') expect(writes).not.toHaveBeenCalled();
      } finally {
        writes.mockRestore();
      }
      expect(await countRows()).toEqual(rowsBefore);
      expect((await blobFiles()).length).toBe(blobsBefore);
    });

    it('metadata that is not valid is a 422 naming the field', async () => {
      const response = await sendLetter(kuvert.app, sender, {
        recipient: { nationalId: recipient.nationalId },
        subject: '',
      });
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'validation_failed' });
      expect(response.json().detail).toContain('subject');
    });

    it('a body that is not multipart is a 415', async () => {
      const response = await signedInject(kuvert.app, {
        method: 'POST',
        url: '/api/v1/letters',
        key: sender.key,
        body: Buffer.from('{"subject":"x"}'),
        contentType: 'application/json',
      });
      expect(response.statusCode).toBe(415);
      expect(response.json().code).toBe('unsupported_media_type');
    });
  });

  describe('signatures (RFC 9421): one generic answer for every failed check', () => {
    async function signedLetter(
      mutate?: (headers: Record<string, string>) => void,
      created?: number,
      key = sender.key,
    ) {
      const { encodeLetterForm } = await import('@kuvert/sdk');
      const form = encodeLetterForm({
        messageId: randomUUID(),
        recipient: { nationalId: recipient.nationalId },
        subject: 'Signed',
        document: { filename: 'a.pdf', bytes: await samplePdf() },
      });
      return signedInject(kuvert.app, {
        method: 'POST',
        url: '/api/v1/letters',
        key,
        body: form.bytes,
        contentType: form.contentType,
        ...(created !== undefined ? { created } : {}),
        ...(mutate ? { mutate } : {}),
      });
    }

    const refusals: Array<[string, (h: Record<string, string>) => void, number?]> = [
      [
        'no signature at all',
        (h) => {
          delete h.signature;
          delete h.Signature;
          delete h['Signature-Input'];
        },
      ],
      ['a stale signature (created 10 minutes ago)', () => {}, Math.floor(Date.now() / 1000) - 600],
      ['a signature from the future', () => {}, Math.floor(Date.now() / 1000) + 600],
      [
        'a body digest that does not match',
        (h) => {
          h['Content-Digest'] = 'sha-512=:AAAA:';
        },
      ],
      [
        'an unknown key id',
        (h) => {
          h['Signature-Input'] = h['Signature-Input']!.replace(/keyid="[^"]+"/, 'keyid="nope"');
        },
      ],
    ];
    it.each(refusals)('%s → 401', async (_name, mutate, created) => {
      const before = await countRows();
      const response = await signedLetter(mutate, created);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({
        code: 'signature_invalid',
        title: 'The request signature could not be verified',
      });
      expect(response.json().detail).toBeUndefined();
      expect(await countRows()).toEqual(before);
    });

    it('a revoked key → 401', async () => {
      const { revokeKey } = await import('../senders/service.js');
      const revoked = await buildSender(kuvert.context);
      const before = await sendLetter(kuvert.app, revoked, {
        recipient: { nationalId: recipient.nationalId },
      });
      expect(before.statusCode).toBe(201);
      await revokeKey({
        db: kuvert.context.db,
        keys: kuvert.context.keys,
        keyId: revoked.key.keyId,
        actor: 'test',
      });
      const after = await sendLetter(kuvert.app, revoked, {
        recipient: { nationalId: recipient.nationalId },
      });
      expect(after.statusCode).toBe(401);
    });

    it("another sender's key id on this sender's signature → 401", async () => {
      const other = await buildSender(kuvert.context);
      const response = await signedLetter(undefined, undefined, {
        ...sender.key,
        keyId: other.key.keyId,
      });
      expect(response.statusCode).toBe(401);
    });

    it('a replayed request (same signature and nonce) → 401', async () => {
      const { encodeLetterForm, signRequest } = await import('@kuvert/sdk');
      const form = encodeLetterForm({
        messageId: randomUUID(),
        recipient: { nationalId: recipient.nationalId },
        subject: 'Replayed',
        document: { filename: 'a.pdf', bytes: await samplePdf() },
      });
      const headers: Record<string, string> = { host: testHost, 'content-type': form.contentType };
      Object.assign(
        headers,
        signRequest({
          method: 'POST',
          url: `${testPublicUrl}/api/v1/letters`,
          headers,
          body: form.bytes,
          key: sender.key,
        }),
      );
      const send = () =>
        kuvert.app.inject({ method: 'POST', url: '/api/v1/letters', headers, payload: form.bytes });
      expect((await send()).statusCode).toBe(201);
      expect((await send()).statusCode).toBe(401);
    });
  });
});

describe('GET /api/v1/letters/:id and the read status', () => {
  it('shows delivered, then read after the recipient opened it', async () => {
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
    });
    const letterId = sent.json().id as string;
    const status = await signedInject(kuvert.app, {
      method: 'GET',
      url: `/api/v1/letters/${letterId}`,
      key: sender.key,
    });
    expect(status.statusCode).toBe(200);
    expect(status.json().status).toBe('delivered');

    const session = await loginAs(kuvert.app, recipient);
    const read = await kuvert.app.inject({
      method: 'POST',
      url: `/api/letters/${letterId}/read`,
      headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    });
    expect(read.statusCode).toBe(204);
    const after = await signedInject(kuvert.app, {
      method: 'GET',
      url: `/api/v1/letters/${letterId}`,
      key: sender.key,
    });
    expect(after.json()).toMatchObject({ status: 'read' });
    expect(after.json().readAt).not.toBeNull();
  });

  it("another sender's letter is 404, like one that does not exist", async () => {
    const sent = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: recipient.nationalId },
    });
    const other = await buildSender(kuvert.context);
    const foreign = await signedInject(kuvert.app, {
      method: 'GET',
      url: `/api/v1/letters/${sent.json().id}`,
      key: other.key,
    });
    const missing = await signedInject(kuvert.app, {
      method: 'GET',
      url: `/api/v1/letters/${randomUUID()}`,
      key: other.key,
    });
    expect(foreign.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(foreign.json().title).toBe(missing.json().title);
  });
});

describe('the recipient reads letters', () => {
  it('lists the inbox newest first and decrypts the document for its owner only', async () => {
    const reader = await buildRecipient(kuvert.context);
    const pdf = await samplePdf();
    const first = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: reader.nationalId },
      subject: 'First',
    });
    const second = await sendLetter(kuvert.app, sender, {
      recipient: { nationalId: reader.nationalId },
      subject: 'Second',
    });
    const session = await loginAs(kuvert.app, reader);
    const inbox = await kuvert.app.inject({
      method: 'GET',
      url: '/api/letters',
      headers: { cookie: session.cookie },
    });
    expect(inbox.statusCode).toBe(200);
    const letters = inbox.json().letters as Array<{
      id: string;
      subject: string;
      documents: Array<{ id: string }>;
    }>;
    expect(letters.map((l) => l.subject)).toEqual(['Second', 'First']);
    expect(letters.map((l) => l.id)).toEqual([second.json().id, first.json().id]);

    const documentId = letters[0]!.documents[0]!.id;
    const content = await kuvert.app.inject({
      method: 'GET',
      url: `/api/letters/${letters[0]!.id}/documents/${documentId}/content`,
      headers: { cookie: session.cookie },
    });
    expect(content.statusCode).toBe(200);
    expect(content.headers['cache-control']).toBe('no-store');
    expect(content.headers['content-type']).toBe('application/pdf');
    expect(Buffer.compare(content.rawPayload, Buffer.from(pdf))).toBe(0);
  });

  it('without a session the inbox is 401', async () => {
    const response = await kuvert.app.inject({ method: 'GET', url: '/api/letters' });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('unauthenticated');
  });
});

describe('authentication comes before validation', () => {
  it('an unauthenticated request with a malformed id is 401, not 422', async () => {
    const recipientRoute = await kuvert.app.inject({
      method: 'GET',
      url: '/api/letters/not-a-uuid',
    });
    expect(recipientRoute.statusCode).toBe(401);
    const senderRoute = await kuvert.app.inject({
      method: 'GET',
      url: '/api/v1/letters/not-a-uuid',
    });
    expect(senderRoute.statusCode).toBe(401);
    expect(senderRoute.json().code).toBe('signature_invalid');
  });

  it('an authenticated request with a malformed id is 422 naming the parameter', async () => {
    const signed = await signedInject(kuvert.app, {
      method: 'GET',
      url: '/api/v1/letters/not-a-uuid',
      key: sender.key,
    });
    expect(signed.statusCode).toBe(422);
    expect(signed.json().detail).toContain('id');
  });
});

describe('encryption at rest', () => {
  it('the bytes on disk contain none of the PDF plaintext', async () => {
    const pdf = Buffer.from(await samplePdf());
    await sendLetter(kuvert.app, sender, { recipient: { nationalId: recipient.nationalId } });
    const files = await blobFiles();
    expect(files.length).toBeGreaterThan(0);
    // Any 32-byte window of the plaintext would betray it; check a spread of them and the marker.
    const windows = Array.from({ length: 64 }, (_, i) =>
      pdf.subarray(
        Math.floor((i * (pdf.length - 32)) / 64),
        Math.floor((i * (pdf.length - 32)) / 64) + 32,
      ),
    );
    for (const file of files) {
      const stored = await readFile(file);
      expect(stored.includes('%PDF-')).toBe(false);
      expect(stored.includes('secret plaintext marker')).toBe(false);
      for (const window of windows) expect(stored.includes(window)).toBe(false);
    }
  });
});

describe('OpenAPI', () => {
  it('is generated from the routes as OpenAPI 3.1 at /api/openapi.json', async () => {
    const response = await kuvert.app.inject({ method: 'GET', url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/letters',
        '/api/v1/letters/{id}',
        '/api/letters',
        '/api/session',
      ]),
    );
  });
});
