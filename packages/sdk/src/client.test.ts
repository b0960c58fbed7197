import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  KuvertApiError,
  KuvertClient,
  KuvertConnectionError,
  type LetterReceipt,
} from './client.js';
import { verifyContentDigest } from './content-digest.js';
import { generateSenderKey, loadSenderKey, parseSignatureFields, verifySignature } from './sign.js';
import { buildSignatureBase } from './signature-base.js';

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Reply = { status: number; headers?: Record<string, string>; body?: unknown };

/** A real HTTP server on loopback that records requests and answers from a script. */
class RecordingServer {
  readonly requests: RecordedRequest[] = [];
  replies: Reply[] = [];
  #server: Server | undefined;

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        const reply = this.replies.shift() ?? { status: 500, body: { title: 'no scripted reply' } };
        const isProblem = reply.status >= 400;
        res.writeHead(reply.status, {
          'content-type': isProblem ? 'application/problem+json' : 'application/json',
          ...reply.headers,
        });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

const receipt: LetterReceipt = {
  id: '6f1c1d2e-0000-4000-8000-000000000001',
  messageId: '0b7e4f1a-1111-4222-8333-444455556666',
  status: 'delivered',
  deliveredAt: '2026-11-25T12:00:00.000Z',
  notifiedAt: null,
  readAt: null,
};

const pdf = Buffer.from(
  '%PDF-1.7\n%\xe2\xe3\xcf\xd3\nbinary \x00\x01\xff bytes\n%%EOF\n',
  'latin1',
);

let server: RecordingServer;
let baseUrl: string;
const keys = generateSenderKey('ed25519', 'sender-key-1');
const key = loadSenderKey(keys.privateJwk);

beforeEach(async () => {
  server = new RecordingServer();
  baseUrl = await server.start();
});

afterEach(async () => {
  await server.stop();
});

function client(options: { retries?: number } = {}) {
  return new KuvertClient({ baseUrl, key, backoff: { baseMs: 5, maxMs: 20 }, ...options });
}

function sendSample(kuvert = client()) {
  return kuvert.sendLetter({
    messageId: receipt.messageId,
    recipient: { nationalId: '01010112345' },
    subject: 'Your tax return',
    document: { filename: 'skatt "2026".pdf', bytes: pdf },
  });
}

/** Splits a multipart body at its boundary into [headers, content] pairs. */
function parts(request: RecordedRequest): { headers: string; content: Buffer }[] {
  const boundary = /boundary=([^;]+)$/.exec(String(request.headers['content-type']))?.[1];
  expect(boundary).toMatch(/^[A-Za-z0-9-]{20,70}$/);
  const text = request.body.toString('latin1');
  expect(text.startsWith(`--${boundary}\r\n`)).toBe(true);
  expect(text.endsWith(`\r\n--${boundary}--\r\n`)).toBe(true);
  const inner = text.slice(`--${boundary}\r\n`.length, -`\r\n--${boundary}--\r\n`.length);
  return inner.split(`\r\n--${boundary}\r\n`).map((part) => {
    const split = part.indexOf('\r\n\r\n');
    return {
      headers: part.slice(0, split),
      content: Buffer.from(part.slice(split + 4), 'latin1'),
    };
  });
}

/** Verifies a recorded request the way the server does, with the sender's public key. */
function verifyRecorded(request: RecordedRequest): { nonce: string; created: number } {
  const { components, params, signature } = parseSignatureFields(
    String(request.headers['signature-input']),
    String(request.headers.signature),
  );
  const [path = '', query = ''] = request.url.split(/(?=\?)/);
  const base = buildSignatureBase(
    {
      method: request.method,
      authority: String(request.headers.host),
      path,
      query,
      headers: request.headers,
    },
    { components: components.map((item) => item.value.value as string), params },
  );
  expect(
    verifySignature({ base, signature, algorithm: 'ed25519', publicKey: keys.publicJwk }),
  ).toBe(true);
  return {
    nonce: params.get('nonce')?.value as string,
    created: params.get('created')?.value as number,
  };
}

describe('KuvertClient.sendLetter', () => {
  it('POSTs a signed multipart/form-data body: metadata (JSON) then document (PDF)', async () => {
    server.replies = [{ status: 201, body: receipt }];
    await expect(sendSample()).resolves.toEqual(receipt);

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/api/v1/letters');
    const [metadata, document, ...rest] = parts(request!);
    expect(rest).toEqual([]);
    expect(metadata!.headers).toBe(
      'Content-Disposition: form-data; name="metadata"\r\nContent-Type: application/json',
    );
    expect(JSON.parse(metadata!.content.toString('utf8'))).toEqual({
      messageId: receipt.messageId,
      recipient: { nationalId: '01010112345' },
      subject: 'Your tax return',
    });
    expect(document!.headers).toBe(
      'Content-Disposition: form-data; name="document"; filename="skatt %222026%22.pdf"\r\n' +
        'Content-Type: application/pdf',
    );
    expect(document!.content.equals(pdf)).toBe(true);
  });

  it('covers exactly the bytes sent with Content-Digest and signs the request (RFC 9421, RFC 9530)', async () => {
    server.replies = [{ status: 201, body: receipt }];
    await sendSample();
    const [request] = server.requests;
    expect(verifyContentDigest(String(request!.headers['content-digest']), request!.body)).toBe(
      true,
    );
    expect(request!.headers['signature-input']).toMatch(
      /^sig1=\("@method" "@authority" "@path" "@query" "content-digest" "content-type" "date"\);created=\d+;nonce="[^"]+";keyid="sender-key-1";alg="ed25519"$/,
    );
    expect(Date.parse(String(request!.headers.date))).not.toBeNaN();
    verifyRecorded(request!);
  });

  it('generates a UUID messageId when none is given, and sends an email recipient', async () => {
    server.replies = [{ status: 201, body: receipt }];
    await client().sendLetter({
      recipient: { email: 'kari@example.no' },
      subject: 'Hei',
      document: { filename: 'a.pdf', bytes: pdf },
    });
    const metadata = JSON.parse(parts(server.requests[0]!)[0]!.content.toString('utf8'));
    expect(metadata.messageId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(metadata.recipient).toEqual({ email: 'kari@example.no' });
  });

  it('retries after a 503, re-signed with a new nonce and the same messageId', async () => {
    server.replies = [
      { status: 503, body: { title: 'Service unavailable', status: 503 } },
      { status: 201, body: receipt },
    ];
    await expect(sendSample()).resolves.toEqual(receipt);

    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    const firstSignature = verifyRecorded(first!);
    const secondSignature = verifyRecorded(second!);
    expect(secondSignature.nonce).not.toBe(firstSignature.nonce);
    expect(second!.headers.signature).not.toBe(first!.headers.signature);
    const messageIdOf = (request: RecordedRequest) =>
      JSON.parse(parts(request)[0]!.content.toString('utf8')).messageId;
    expect(messageIdOf(second!)).toBe(messageIdOf(first!));
  });

  it('retries after a 429, waiting for Retry-After', async () => {
    server.replies = [
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { title: 'Too many attempts', status: 429 },
      },
      { status: 201, body: receipt },
    ];
    const started = Date.now();
    await expect(sendSample()).resolves.toEqual(receipt);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after `retries` extra attempts and surfaces the last problem', async () => {
    server.replies = Array.from({ length: 5 }, () => ({
      status: 502,
      body: { type: 'about:blank', title: 'Bad gateway', status: 502 },
    }));
    const error = await sendSample(client({ retries: 2 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertApiError);
    expect((error as KuvertApiError).status).toBe(502);
    expect(server.requests).toHaveLength(3);
  });

  it('surfaces a 409 problem as KuvertApiError without retrying', async () => {
    const problem = {
      type: 'https://kuvert.example/problems/idempotency_conflict',
      title: 'This messageId was already used for different content',
      status: 409,
      detail: 'messageId 0b7e4f1a-1111-4222-8333-444455556666 was used for another letter',
      code: 'idempotency_conflict',
    };
    server.replies = [
      { status: 409, body: problem },
      { status: 201, body: receipt },
    ];
    const error = await sendSample().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertApiError);
    expect(error).toMatchObject({
      type: problem.type,
      title: problem.title,
      status: 409,
      detail: problem.detail,
      code: 'idempotency_conflict',
      problem,
    });
    expect(server.requests).toHaveLength(1);
  });

  // Only 429, 502, 503 and 504 are retried: every other 4xx means the request itself is wrong
  // (a 413 letter stays too large however often it is sent), so a retry only repeats the upload.
  it.each([400, 401, 403, 404, 409, 413, 415, 422, 431])('does not retry a %i', async (status) => {
    server.replies = Array.from({ length: 4 }, () => ({
      status,
      body: { type: 'about:blank', title: `Refused with ${status}`, status },
    }));
    const error = await sendSample(client({ retries: 3 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertApiError);
    expect((error as KuvertApiError).status).toBe(status);
    expect(server.requests).toHaveLength(1);
  });

  it('makes a minimal problem of an error response that is not JSON', async () => {
    server.replies = [{ status: 400 }];
    await expect(sendSample()).rejects.toMatchObject({
      status: 400,
      type: 'about:blank',
      title: 'Bad Request',
    });
  });
});

describe('KuvertClient.getLetter', () => {
  it('GETs the letter, signed without content-digest', async () => {
    server.replies = [
      { status: 200, body: { ...receipt, status: 'read', readAt: '2026-11-25T13:00:00.000Z' } },
    ];
    const status = await client().getLetter(receipt.id);
    expect(status).toMatchObject({ status: 'read', readAt: '2026-11-25T13:00:00.000Z' });
    const [request] = server.requests;
    expect(request!.method).toBe('GET');
    expect(request!.url).toBe(`/api/v1/letters/${receipt.id}`);
    expect(request!.headers['content-digest']).toBeUndefined();
    expect(request!.headers['signature-input']).toMatch(
      /^sig1=\("@method" "@authority" "@path" "@query" "date"\);/,
    );
    verifyRecorded(request!);
  });

  it('keeps a base path of the base URL', async () => {
    server.replies = [{ status: 200, body: receipt }];
    await new KuvertClient({ baseUrl: `${baseUrl}/kuvert`, key }).getLetter('x/y');
    expect(server.requests[0]!.url).toBe('/kuvert/api/v1/letters/x%2Fy');
    verifyRecorded(server.requests[0]!);
  });

  it('refuses a letter of an unexpected shape', async () => {
    server.replies = [{ status: 200, body: { id: 1 } }];
    await expect(client().getLetter('x')).rejects.toThrow(/unexpected shape/);
  });
});

describe('KuvertClient network errors', () => {
  it('retries and then reports an unreachable server as KuvertConnectionError', async () => {
    await server.stop();
    const error = await client({ retries: 1 })
      .getLetter('x')
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertConnectionError);
    expect((error as Error).message).toContain(baseUrl);
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});
