import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, createApiClient, problemFromBody } from './api';

/**
 * A real HTTP server on loopback that speaks the recipient API contract, so the client is tested
 * with real fetch, real headers and real bodies.
 */
interface Seen {
  method: string;
  url: string;
  csrf: string | undefined;
  body: string;
}

const session = {
  mailbox: { id: 'mbx_1', language: 'nn' },
  csrfToken: 'csrf-1',
  expiresAt: '2030-01-01T00:00:00.000Z',
};
const problem = (status: number, code: string, title: string) => ({
  type: `http://localhost/problems/${code}`,
  title,
  status,
  code,
});

let server: Server;
let baseUrl: string;
let seen: Seen[] = [];
let loggedIn = false;
let csrfToken = 'csrf-1';

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  type = 'application/json',
): void {
  res.statusCode = status;
  if (body === undefined) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', type);
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const csrf = req.headers['x-csrf-token'];
  seen.push({ method: req.method ?? '', url: req.url ?? '', csrf: csrf as string, body });
  const problemJson = 'application/problem+json';

  if (req.url === '/api/session' && req.method === 'GET') {
    return loggedIn
      ? send(res, 200, { ...session, csrfToken })
      : send(res, 401, problem(401, 'unauthenticated', 'Login required'), problemJson);
  }
  if (req.url === '/api/session' && req.method === 'POST') {
    const input = JSON.parse(body) as { nationalId: string; password: string; totp: string };
    if (input.nationalId === 'flood') {
      return send(res, 429, problem(429, 'rate_limited', 'Too many attempts'), problemJson);
    }
    if (input.password !== 'correct horse battery staple') {
      return send(res, 401, problem(401, 'login_failed', 'Login failed'), problemJson);
    }
    loggedIn = true;
    return send(res, 200, { ...session, csrfToken });
  }
  if (!loggedIn)
    return send(res, 401, problem(401, 'unauthenticated', 'Login required'), problemJson);
  if (req.method !== 'GET' && csrf !== csrfToken) {
    return send(res, 403, problem(403, 'csrf_failed', 'Cross-site request refused'), problemJson);
  }
  if (req.url === '/api/session' && req.method === 'DELETE') {
    loggedIn = false;
    return send(res, 204);
  }
  if (req.url === '/api/letters') return send(res, 200, { letters: [] });
  if (req.url === '/api/letters/gone') {
    return send(
      res,
      404,
      { ...problem(404, 'not_found', 'Not found'), detail: 'No such letter' },
      problemJson,
    );
  }
  if (req.url === '/api/letters/l1/documents/d1/content') {
    return send(res, 200, '%PDF-1.7 fake', 'application/pdf');
  }
  if (req.url === '/api/letters/l1/read' && req.method === 'POST') return send(res, 204);
  if (req.url === '/api/letters/broken')
    return send(res, 502, '<html>Bad gateway</html>', 'text/html');
  return send(res, 404, problem(404, 'not_found', 'Not found'), problemJson);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.close();
});

beforeEach(() => {
  seen = [];
  loggedIn = false;
  csrfToken = 'csrf-1';
});

const password = 'correct horse battery staple';

describe('api client', () => {
  it('answers null for the session when nobody is logged in', async () => {
    const client = createApiClient({ baseUrl });
    expect(await client.getSession()).toBeNull();
  });

  it('logs in and sends the CSRF token on every state-changing request', async () => {
    const client = createApiClient({ baseUrl });
    const result = await client.login({ nationalId: '01010012356', password, totp: '123456' });
    expect(result.mailbox.language).toBe('nn');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({
      nationalId: '01010012356',
      password,
      totp: '123456',
    });

    await client.listLetters();
    await client.markRead('l1');
    await client.logout();
    expect(seen.map((r) => [r.method, r.url, r.csrf])).toEqual([
      ['POST', '/api/session', undefined],
      ['GET', '/api/letters', undefined],
      ['POST', '/api/letters/l1/read', 'csrf-1'],
      ['DELETE', '/api/session', 'csrf-1'],
    ]);
  });

  it('parses a wrong login into an ApiError with the problem code', async () => {
    const client = createApiClient({ baseUrl });
    const error = await client
      .login({ nationalId: '01010012356', password: 'wrong', totp: '000000' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 401, code: 'login_failed', title: 'Login failed' });
  });

  it('reports rate limiting as its own code', async () => {
    const client = createApiClient({ baseUrl });
    const error = await client.login({ nationalId: 'flood', password, totp: '1' }).catch((e) => e);
    expect(error).toMatchObject({ status: 429, code: 'rate_limited' });
  });

  it('calls the unauthorized handler on a 401 from a protected call, not from login', async () => {
    const client = createApiClient({ baseUrl });
    let calls = 0;
    client.setUnauthorizedHandler(() => {
      calls += 1;
    });
    await client.login({ nationalId: 'x', password: 'wrong', totp: '1' }).catch(() => undefined);
    expect(calls).toBe(0);
    const error = await client.listLetters().catch((e) => e);
    expect(error).toMatchObject({ status: 401, code: 'unauthenticated' });
    expect(calls).toBe(1);
  });

  it('keeps the detail of a problem', async () => {
    const client = createApiClient({ baseUrl });
    await client.login({ nationalId: 'x', password, totp: '1' });
    const error = await client.getLetter('gone').catch((e) => e);
    expect(error).toMatchObject({ status: 404, code: 'not_found', detail: 'No such letter' });
  });

  it('gives a generic error for a body that is not a problem document', async () => {
    const client = createApiClient({ baseUrl });
    await client.login({ nationalId: 'x', password, totp: '1' });
    const error = await client.getLetter('broken').catch((e) => e);
    expect(error).toMatchObject({ status: 502, code: 'unexpected_response' });
  });

  it('returns document bytes', async () => {
    const client = createApiClient({ baseUrl });
    await client.login({ nationalId: 'x', password, totp: '1' });
    const bytes = await client.getDocumentContent('l1', 'd1');
    expect(new TextDecoder().decode(bytes)).toBe('%PDF-1.7 fake');
  });

  it('fetches a fresh CSRF token once when the session was rotated elsewhere', async () => {
    const client = createApiClient({ baseUrl });
    await client.login({ nationalId: 'x', password, totp: '1' });
    csrfToken = 'csrf-2';
    await client.markRead('l1');
    expect(seen.slice(1).map((r) => [r.method, r.url, r.csrf])).toEqual([
      ['POST', '/api/letters/l1/read', 'csrf-1'],
      ['GET', '/api/session', undefined],
      ['POST', '/api/letters/l1/read', 'csrf-2'],
    ]);
  });

  it('turns a failed connection into a network_error', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const client = createApiClient({ baseUrl: `http://127.0.0.1:${port}` });
    const error = await client.listLetters().catch((e) => e);
    expect(error).toMatchObject({ status: 0, code: 'network_error' });
  });
});

describe('problemFromBody (RFC 9457)', () => {
  it('reads type, title, status, detail and code', () => {
    const error = problemFromBody(422, {
      type: 'https://kuvert.example/problems/validation_failed',
      title: 'The request is invalid',
      status: 422,
      detail: 'totp must be 6 digits',
      code: 'validation_failed',
    });
    expect(error).toMatchObject({
      type: 'https://kuvert.example/problems/validation_failed',
      status: 422,
      code: 'validation_failed',
      detail: 'totp must be 6 digits',
      message: 'totp must be 6 digits',
    });
  });

  it('falls back for bodies without a code', () => {
    expect(problemFromBody(500, { message: 'boom' }, 'Internal Server Error')).toMatchObject({
      status: 500,
      code: 'unexpected_response',
      title: 'Internal Server Error',
    });
  });
});
