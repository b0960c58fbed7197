import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import {
  encodeLetterForm,
  generateSenderKey,
  loadSenderKey,
  type SenderKey,
  signRequest,
} from '@kuvert/sdk';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import {
  buildRecipient,
  buildSender,
  samplePdf,
  type TestRecipient,
  type TestSender,
  testHost,
} from '../../test/support/factories.js';
import { maxSubmissionBytes } from '../letters/sender-routes.js';

/**
 * A sender request is authenticated from its headers before the server reads
 * a byte of its body, and the body is checked against the signed Content-Digest as it streams.
 * Over real HTTP where it matters: the client, not the server, shows what was read.
 */
let kuvert: TestKuvert;
let port: number;
let sender: TestSender;
let recipient: TestRecipient;
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  const log = pino({ level: 'info' }, { write: (line: string) => logLines.push(JSON.parse(line)) });
  kuvert = await startTestKuvert({ LOG_LEVEL: 'info' }, { log });
  await kuvert.app.listen({ port: 0, host: '127.0.0.1' });
  const address = kuvert.app.server.address();
  port = typeof address === 'object' && address ? address.port : 0;
  sender = await buildSender(kuvert.context);
  recipient = await buildRecipient(kuvert.context);
});
afterAll(() => kuvert?.close());

async function letterForm(subject = 'Authentication first') {
  return encodeLetterForm({
    messageId: randomUUID(),
    recipient: { nationalId: recipient.nationalId },
    subject,
    document: { filename: 'letter.pdf', bytes: await samplePdf() },
  });
}

/** Headers of a signed letter submission, as a client would send them. */
function signedHeaders(options: {
  body: Uint8Array;
  contentType: string;
  key?: SenderKey;
  origin?: string;
  components?: string[];
}): Record<string, string> {
  const origin = options.origin ?? testPublicUrl;
  const headers: Record<string, string> = {
    host: new URL(origin).host,
    'content-type': options.contentType,
  };
  const added = signRequest({
    method: 'POST',
    url: `${origin}/api/v1/letters`,
    headers,
    body: options.body,
    key: options.key ?? sender.key,
    ...(options.components ? { components: options.components } : {}),
  });
  for (const [name, value] of Object.entries(added)) headers[name.toLowerCase()] = value;
  return headers;
}

async function countRows() {
  const letters = await kuvert.context.db
    .selectFrom('letters')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(letters.n);
}

/** The log reason recorded for a refused request, found by its request id. */
function logReasonOf(requestId: string): unknown {
  return logLines.find((line) => line.reqId === requestId && line.msg === 'request refused')
    ?.reason;
}

interface PartialExchange {
  status: number;
  body: Record<string, unknown>;
  /** Bytes the client had written when the whole answer had arrived. */
  clientSent: number;
}

/**
 * Announces `contentLength` bytes of body, sends the head and only `firstBytes` of it, then
 * waits for the answer without sending more. A server that reads the body before answering
 * never answers (the test then fails on vitest's timeout).
 */
function sendHeadOnly(
  headers: Record<string, string>,
  contentLength: number,
  firstBytes: Buffer,
): Promise<PartialExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      const headEnd = received.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const head = received.subarray(0, headEnd).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (received.length < headEnd + 4 + length) return;
      const body = received.subarray(headEnd + 4, headEnd + 4 + length).toString('utf8');
      resolve({
        status: Number(head.split(' ')[1]),
        body: JSON.parse(body) as Record<string, unknown>,
        clientSent: socket.bytesWritten,
      });
      socket.destroy();
    });
    const lines = Object.entries({ ...headers, 'content-length': String(contentLength) }).map(
      ([name, value]) => `${name}: ${value}`,
    );
    socket.write(`POST /api/v1/letters HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
    socket.write(firstBytes);
  });
}

describe('a sender request is authenticated before its body is read', () => {
  const announced = 20 * 1024 * 1024; // within the 25 MiB limit: only the signature can refuse it
  const firstBytes = Buffer.alloc(64 * 1024, 0x41);
  const hugeBody = Buffer.alloc(announced, 0x41);
  const contentType = 'multipart/form-data; boundary=kuvert-huge';

  const badSignatures: [string, () => Promise<Record<string, string>>][] = [
    [
      'signed with a key the server does not know',
      async () =>
        signedHeaders({
          body: hugeBody,
          contentType,
          key: loadSenderKey(generateSenderKey('ed25519').privateJwk),
        }),
    ],
    [
      'whose signature does not verify',
      async () => {
        const headers = signedHeaders({ body: hugeBody, contentType });
        headers.signature = headers.signature!.replace(/=:(.)/, (_all, first: string) =>
          first === 'A' ? '=:B' : '=:A',
        );
        return headers;
      },
    ],
    [
      'replaying the signature of a letter already delivered',
      async () => {
        const form = await letterForm('Delivered once');
        const headers = signedHeaders({ body: form.bytes, contentType: form.contentType });
        const first = await kuvert.app.inject({
          method: 'POST',
          url: '/api/v1/letters',
          headers,
          payload: form.bytes,
        });
        expect(first.statusCode).toBe(201);
        return headers; // the same signature, now announcing a huge body
      },
    ],
  ];

  it.each(badSignatures)(
    'a 20 MiB body %s is refused 401 after the client sent only the head and 64 KiB',
    async (_case, makeHeaders) => {
      const headers = await makeHeaders();
      const before = await countRows();
      const exchange = await sendHeadOnly(headers, announced, firstBytes);
      expect(exchange.status).toBe(401);
      expect(exchange.body).toMatchObject({ code: 'signature_invalid', status: 401 });
      expect(exchange.body.detail).toBeUndefined();
      expect(exchange.clientSent).toBeLessThan(announced / 100);
      expect(await countRows()).toBe(before);
    },
  );
});

describe('what the signature must cover', () => {
  it('refuses a signature made for another instance sharing the key (@authority is KUVERT_PUBLIC_URL, not Host)', async () => {
    const form = await letterForm();
    const staging = 'https://staging.kuvert.test';
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers: signedHeaders({ body: form.bytes, contentType: form.contentType, origin: staging }),
      payload: form.bytes,
    });
    expect(response.statusCode).toBe(401);
    expect(logReasonOf(response.json().requestId)).toMatch(
      /made for @authority staging\.kuvert\.test \(the Host header\), but this server is kuvert\.test \(KUVERT_PUBLIC_URL\)$/,
    );
  });

  it('refuses a body whose Content-Type is not covered by the signature', async () => {
    const form = await letterForm();
    const headers = signedHeaders({
      body: form.bytes,
      contentType: form.contentType,
      components: ['@method', '@authority', '@path', '@query', 'content-digest', 'date'],
    });
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers,
      payload: form.bytes,
    });
    expect(response.statusCode).toBe(401);
    expect(logReasonOf(response.json().requestId)).toBe(
      'the request has a body but required components are not covered: content-type',
    );
  });

  it('accepts the same letter signed as the SDK signs it (content-type and content-digest covered)', async () => {
    const form = await letterForm();
    const headers = signedHeaders({ body: form.bytes, contentType: form.contentType });
    expect(headers['signature-input']).toMatch(
      /^sig1=\("@method" "@authority" "@path" "@query" "content-digest" "content-type" "date"\)/,
    );
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers,
      payload: form.bytes,
    });
    expect(response.statusCode).toBe(201);
  });
});

describe('the body is checked against the signed Content-Digest as it streams', () => {
  it('a body that does not match is refused 401, stores nothing, and does not use up the nonce', async () => {
    const form = await letterForm('Digest checked while streaming');
    const headers = signedHeaders({ body: form.bytes, contentType: form.contentType });
    const tampered = Buffer.from(form.bytes);
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 1; // same length
    const before = await countRows();

    const refused = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers,
      payload: tampered,
    });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ code: 'signature_invalid' });
    expect(refused.json().detail).toBeUndefined();
    expect(logReasonOf(refused.json().requestId)).toBe(
      'Content-Digest mismatch: sha-512 does not match the content',
    );
    expect(await countRows()).toBe(before);

    // The refused request recorded nothing, its nonce included: the genuine body still goes.
    const genuine = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers,
      payload: form.bytes,
    });
    expect(genuine.statusCode).toBe(201);
  });

  it('a body over the limit with a valid signature is a 413 problem document', async () => {
    const body = Buffer.alloc(maxSubmissionBytes + 1, 0x41);
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers: signedHeaders({ body, contentType: 'multipart/form-data; boundary=x' }),
      payload: body,
    });
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ code: 'payload_too_large' });
  });
});

describe('401 comes before 415 and 422', () => {
  it('an unsigned body of the wrong type is 401, not 415', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers: { host: testHost, 'content-type': 'application/json' },
      payload: JSON.stringify({ subject: 'no' }),
    });
    expect(response.statusCode).toBe(401);
  });

  it('an invalid letter with a broken signature is 401, not 422', async () => {
    const form = encodeLetterForm({
      messageId: randomUUID(),
      recipient: { nationalId: '12345678901' }, // not a valid national identity number
      subject: 'Invalid',
      document: { filename: 'a.pdf', bytes: await samplePdf() },
    });
    const headers = signedHeaders({ body: form.bytes, contentType: form.contentType });
    headers.date = new Date(Date.now() - 3_600_000).toUTCString();
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/v1/letters',
      headers,
      payload: form.bytes,
    });
    expect(response.statusCode).toBe(401);
  });
});
