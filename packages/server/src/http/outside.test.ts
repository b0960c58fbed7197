import { randomUUID } from 'node:crypto';
import { KuvertApiError, KuvertClient, signRequest } from '@kuvert/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import { buildRecipient, buildSender } from '../../test/support/factories.js';
import {
  parseRawResponse,
  type RawResponse,
  rawExchange,
  streamingUpload,
} from '../../test/support/raw-http.js';
import { maxSubmissionBytes } from '../letters/sender-routes.js';
import { defaultDrainLimits } from './body-drain.js';
import { securityHeaders } from './security-headers.js';

/**
 * Every error is an RFC 9457 problem document with the security headers,
 * tested from outside: a listening app and real TCP clients (net.Socket, fetch), because the
 * answers that went wrong are those `inject` never sees (Node's HTTP parser, the socket).
 */
let kuvert: TestKuvert;
let port: number;
let origin: string;

beforeAll(async () => {
  kuvert = await startTestKuvert();
  await kuvert.app.listen({ port: 0, host: '127.0.0.1' });
  port = (kuvert.app.server.address() as { port: number }).port;
  origin = `http://127.0.0.1:${port}`;
});
afterAll(() => kuvert?.close());

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The shape every error answer must have, whichever layer produced it. */
function expectProblem(
  response: { status: number; headers: Record<string, string>; body: string },
  status: number,
  code: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  expect(response.headers['cache-control']).toBe('no-store');
  for (const [name, value] of Object.entries(securityHeaders)) {
    expect(response.headers[name], name).toBe(value);
  }
  const problem = JSON.parse(response.body);
  expect(problem).toMatchObject({
    type: `${testPublicUrl}/problems/${code}`,
    status,
    code,
  });
  expect(typeof problem.title).toBe('string');
  expect(problem.requestId).toMatch(uuid);
  expect(response.headers['x-request-id']).toBe(problem.requestId);
  return problem;
}

async function viaFetch(path: string, init: RequestInit = {}) {
  const response = await fetch(`${origin}${path}`, init);
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
}

async function viaSocket(request: string): Promise<RawResponse> {
  const { received } = await rawExchange(port, request);
  return parseRawResponse(received);
}

describe("answers of Node's HTTP parser (clientError), over a raw socket", () => {
  it('headers over the limit answer 431 request_headers_too_large', async () => {
    const response = await viaSocket(
      `GET /api/letters HTTP/1.1\r\nHost: kuvert.test\r\nX-Padding: ${'a'.repeat(32 * 1024)}\r\n\r\n`,
    );
    expectProblem(response, 431, 'request_headers_too_large');
    expect(response.headers.connection).toBe('close');
  });

  it('bytes that are not HTTP answer 400 bad_request', async () => {
    const response = await viaSocket('NOT HTTP AT ALL\r\n\r\n');
    expectProblem(response, 400, 'bad_request');
  });

  it('a malformed header line answers 400 bad_request', async () => {
    const response = await viaSocket(
      'GET /api/letters HTTP/1.1\r\nHost: kuvert.test\r\nBroken header\r\n\r\n',
    );
    expectProblem(response, 400, 'bad_request');
  });

  it('the status line and headers are well-formed HTTP/1.1, with a Content-Length that fits', async () => {
    const { received } = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    const response = parseRawResponse(received);
    expect(received.startsWith('HTTP/1.1 400 Bad Request\r\n')).toBe(true);
    expect(Buffer.byteLength(response.body)).toBe(Number(response.headers['content-length']));
    expect(received.endsWith(response.body)).toBe(true);
  });
});

describe('answers Fastify gives outside our handlers, over TCP', () => {
  it('an unknown route answers a 404 problem', async () => {
    expectProblem(await viaFetch('/api/no-such-route'), 404, 'not_found');
  });

  it('malformed JSON answers a 400 problem', async () => {
    const response = await viaFetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: testPublicUrl },
      body: '{"nationalId": ',
    });
    expectProblem(response, 400, 'bad_request');
  });

  it('an unsupported media type answers a 415 problem', async () => {
    const response = await viaFetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/xml', origin: testPublicUrl },
      body: '<login/>',
    });
    expectProblem(response, 415, 'unsupported_media_type');
  });

  it('a broken percent-encoding answers a 400 problem', async () => {
    expectProblem(
      await viaSocket(
        'GET /api/letters/%zz HTTP/1.1\r\nHost: kuvert.test\r\nConnection: close\r\n\r\n',
      ),
      400,
      'bad_request',
    );
  });

  it('a body over the limit announced by Content-Length answers a 413 problem', async () => {
    const response = await viaFetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: testPublicUrl },
      body: JSON.stringify({ password: 'x'.repeat(1024 * 1024) }),
    });
    expectProblem(response, 413, 'payload_too_large');
  });
});

describe('a client streaming a body over the limit reads the 413 (drained, not reset)', () => {
  const head = [
    'POST /api/session HTTP/1.1',
    'Host: kuvert.test',
    'Content-Type: application/json',
    `Origin: ${testPublicUrl}`,
    'Transfer-Encoding: chunked',
    '',
    '',
  ].join('\r\n');
  const bodyLimit = 1024 * 1024;

  // 3 MiB past the limit is more than the loopback socket buffers hold: closing at once (what
  // Fastify does) resets the connection while the client is still writing (EPIPE), so a client
  // that reads the answer after sending, as many do, never sees the 413.
  it('a chunked upload 3 MiB over the limit is read to its end, and the 413 arrives without a reset', async () => {
    const total = bodyLimit + 3 * 1024 * 1024;
    expect(total - bodyLimit).toBeLessThan(defaultDrainLimits.maxBytes);
    const upload = await streamingUpload(port, head, { totalBytes: total });
    expect(upload.error).toBeUndefined();
    expect(upload.written).toBe(total);
    expectProblem(parseRawResponse(upload.received), 413, 'payload_too_large');
  });

  it('an endless upload gets the 413, then the connection is closed after a bounded drain', async () => {
    const upload = await streamingUpload(port, head, { totalBytes: 1024 * 1024 * 1024 });
    const response = parseRawResponse(upload.received);
    expectProblem(response, 413, 'payload_too_large');
    // The server closed the connection long before the client was done.
    expect(upload.written).toBeLessThan(bodyLimit + defaultDrainLimits.maxBytes + 32 * 1024 * 1024);
  });

  it('fetch with a streamed request body resolves with the 413 problem', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 3 * bodyLimit) return controller.close();
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${origin}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: testPublicUrl },
      body,
      duplex: 'half',
    } as RequestInit);
    expectProblem(
      {
        status: response.status,
        headers: Object.fromEntries(response.headers),
        body: await response.text(),
      },
      413,
      'payload_too_large',
    );
  });
});

describe("the sender route's 413 drains too (the mechanism is the app's, not the route's)", () => {
  // Its body is piped through the signed-digest check (preParsing): the drain must unpipe it,
  // or the check sees a body cut short end and fails with nobody listening (an unhandled error).
  it('a signed letter streamed 3 MiB past 25 MiB reads the 413, with no reset and no unhandled error', async () => {
    const sender = await buildSender(kuvert.context);
    const total = maxSubmissionBytes + 3 * 1024 * 1024;
    // The same bytes streamingUpload sends, so the signed Content-Digest is right and the
    // refusal is the size, checked while the body streams.
    const body = Buffer.alloc(total, 0x61);
    const headers = signRequest({
      method: 'POST',
      url: `${testPublicUrl}/api/v1/letters`,
      headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
      body,
      key: sender.key,
    });
    const head = [
      'POST /api/v1/letters HTTP/1.1',
      'Host: kuvert.test',
      'Content-Type: multipart/form-data; boundary=x',
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      'Transfer-Encoding: chunked',
      '',
      '',
    ].join('\r\n');
    const upload = await streamingUpload(port, head, { totalBytes: total });
    expect(upload.error).toBeUndefined();
    expect(upload.written).toBe(total);
    expectProblem(parseRawResponse(upload.received), 413, 'payload_too_large');
  });
});

describe('the SDK against a real server: a 413 is not retried', () => {
  it('a letter over the size limit fails once with payload_too_large', async () => {
    const sender = await buildSender(kuvert.context);
    const recipient = await buildRecipient(kuvert.context);
    let attempts = 0;
    // The SDK signs for the public URL (the signed @authority must be its host); the requests
    // go to the listening port, as a DNS entry for kuvert.test would send them.
    const client = new KuvertClient({
      baseUrl: testPublicUrl,
      key: sender.key,
      retries: 3,
      backoff: { baseMs: 1, maxMs: 1 },
      fetch: (input, init) => {
        attempts += 1;
        const url = new URL(String(input));
        return fetch(`${origin}${url.pathname}${url.search}`, init);
      },
    });
    const error = await client
      .sendLetter({
        messageId: randomUUID(),
        recipient: { nationalId: recipient.nationalId },
        subject: 'Too large',
        document: {
          filename: 'large.pdf',
          bytes: new Uint8Array(maxSubmissionBytes + 8 * 1024 * 1024),
        },
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(KuvertApiError);
    expect((error as KuvertApiError).status).toBe(413);
    expect((error as KuvertApiError).code).toBe('payload_too_large');
    expect(attempts).toBe(1);
  });
});

describe('requests in absolute form (RFC 9112 §3.2.2), over a raw socket', () => {
  const get = (target: string, host: string) =>
    viaSocket(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);

  it('a page asked for under a foreign host is redirected to the canonical origin, path only', async () => {
    const response = await get('http://evil.example/', 'evil.example');
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`${testPublicUrl}/`);
  });

  it('the foreign authority of the target wins over a canonical Host header, and never reaches Location', async () => {
    const response = await get('http://evil.example/letters/abc?x=1', 'kuvert.test');
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`${testPublicUrl}/letters/abc?x=1`);
  });

  it('a target whose path looks protocol-relative stays on the canonical origin', async () => {
    const response = await get('http://evil.example//evil.example/x', 'evil.example');
    expect(response.status).toBe(308);
    expect(new URL(response.headers.location!).origin).toBe(testPublicUrl);
    expect(response.headers.location).toBe(`${testPublicUrl}//evil.example/x`);
  });

  it('a page under another Host in origin form is redirected the same way', async () => {
    const response = await get('/letters/abc?x=1', 'evil.example');
    expect(response.status).toBe(308);
    expect(response.headers.location).toBe(`${testPublicUrl}/letters/abc?x=1`);
  });

  it("a problem's instance is the path, not the absolute target", async () => {
    const response = await get('http://evil.example/api/no-such-route?token=x', 'evil.example');
    const problem = expectProblem(response, 404, 'not_found');
    expect(problem.instance).toBe('/api/no-such-route');
    expect(response.body).not.toContain('evil.example');
  });
});
