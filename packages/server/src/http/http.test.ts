import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import { buildRecipient, loginAs, type TestSession } from '../../test/support/factories.js';
import { buildApp } from '../app.js';
import { routeTable } from './route-table.js';

const webDist = fileURLToPath(new URL('../../../web/dist/', import.meta.url));
// `npm test` builds the web app first; without it these tests fail rather than skip.
if (!existsSync(`${webDist}index.html`)) {
  throw new Error('packages/web/dist is missing: run `npm run build:web` (npm test does it)');
}
const someAsset = readdirSync(`${webDist}assets`).find((name) => name.endsWith('.js'));

let kuvert: TestKuvert;
let production: TestKuvert;
let session: TestSession;
/** A second app on the same context, with a route that fails unexpectedly. */
let failing: FastifyInstance;

const secretInError = 'hunter2 at /srv/kuvert/var/keys/master-keys.json';

beforeAll(async () => {
  [kuvert, production] = await Promise.all([
    startTestKuvert(),
    startTestKuvert({
      KUVERT_ENV: 'production',
      SMTP_URL: 'smtp://127.0.0.1:1',
      KUVERT_PUBLIC_URL: 'https://kuvert.test',
    }),
  ]);
  session = await loginAs(kuvert.app, await buildRecipient(kuvert.context));

  failing = await buildApp(kuvert.context);
  failing.get('/api/test/throws', { config: { access: 'public' } }, async () => {
    throw new Error(`password ${secretInError}`);
  });
  failing.get('/api/test/throws-with-status', { config: { access: 'public' } }, async () => {
    throw Object.assign(new Error(`upstream ${secretInError}`), { statusCode: 502, code: 'E_UP' });
  });
  failing.get('/api/test/rejects-with-string', { config: { access: 'public' } }, async () => {
    throw `plain string ${secretInError}`;
  });
  await failing.ready();
});
afterAll(async () => {
  await failing?.close();
  await Promise.all([kuvert?.close(), production?.close()]);
});

/** A few representative responses: JSON API, problem, HTML, SPA path, static asset. */
/** Pages are served on the canonical origin only; inject defaults to Host: localhost:80. */
const canonical = { host: new URL(testPublicUrl).host };

async function representativeResponses(): Promise<Array<[string, LightMyRequestResponse]>> {
  const app = kuvert.app;
  const responses: Array<[string, LightMyRequestResponse]> = [
    [
      'API JSON (GET /api/letters)',
      await app.inject({ method: 'GET', url: '/api/letters', headers: { cookie: session.cookie } }),
    ],
    ['OpenAPI JSON', await app.inject({ method: 'GET', url: '/api/openapi.json' })],
    ['problem (401)', await app.inject({ method: 'GET', url: '/api/letters' })],
    ['problem (404)', await app.inject({ method: 'GET', url: '/api/no-such-route' })],
    ['security.txt', await app.inject({ method: 'GET', url: '/.well-known/security.txt' })],
    ['health', await app.inject({ method: 'GET', url: '/healthz' })],
  ];
  responses.push([
    'web app index',
    await app.inject({ method: 'GET', url: '/', headers: canonical }),
  ]);
  responses.push([
    'SPA path',
    await app.inject({ method: 'GET', url: `/letters/${randomUUID()}`, headers: canonical }),
  ]);
  responses.push([
    'static asset',
    await app.inject({ method: 'GET', url: `/assets/${someAsset}` }),
  ]);
  return responses;
}

function directivesOf(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((tokens) => tokens[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values]),
  );
}

describe('security headers on every response (security invariant 9)', () => {
  it('covers the kinds of response it means to', async () => {
    const responses = await representativeResponses();
    expect(someAsset).toBeDefined();
    expect(responses).toHaveLength(9);
    for (const [what, response] of responses) {
      expect(response.statusCode, what).toBeLessThan(500);
    }
  });

  it('Content-Security-Policy: default-src and script-src self, frame-ancestors none, no unsafe-*', async () => {
    for (const [what, response] of await representativeResponses()) {
      const csp = response.headers['content-security-policy'];
      expect(typeof csp, what).toBe('string');
      const directives = directivesOf(csp as string);
      expect(directives.get('default-src'), what).toEqual(["'self'"]);
      expect(directives.get('script-src'), what).toEqual(["'self'"]);
      // CSP Level 3 §6.4.2: frame-ancestors is not covered by default-src.
      expect(directives.get('frame-ancestors'), what).toEqual(["'none'"]);
      expect(directives.get('object-src'), what).toEqual(["'none'"]);
      expect(csp, what).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes|wasm-unsafe-eval|\*/);
    }
  });

  it('Strict-Transport-Security for at least a year (RFC 6797 §6.1.1)', async () => {
    for (const [what, response] of await representativeResponses()) {
      const hsts = String(response.headers['strict-transport-security']);
      const maxAge = /max-age=(\d+)/.exec(hsts)?.[1];
      expect(Number(maxAge), what).toBeGreaterThanOrEqual(31_536_000);
      expect(hsts, what).toContain('includeSubDomains');
    }
  });

  it('nosniff, X-Frame-Options DENY and Referrer-Policy no-referrer', async () => {
    for (const [what, response] of await representativeResponses()) {
      expect(response.headers['x-content-type-options'], what).toBe('nosniff');
      expect(response.headers['x-frame-options'], what).toBe('DENY');
      expect(response.headers['referrer-policy'], what).toBe('no-referrer');
    }
  });

  it('the web app index has no inline script, style or event handler', async () => {
    const html = (await kuvert.app.inject({ method: 'GET', url: '/', headers: canonical })).body;
    const scripts = html.match(/<script\b[^>]*>/gi) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/\ssrc="\/[^"]+"/);
    expect(html).not.toMatch(/<script\b[^>]*>\s*[^<\s]/i);
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/javascript:/i);
  });
});

describe('request ids', () => {
  it('every response carries x-request-id, a fresh UUID each time', async () => {
    const seen = new Set<string>();
    for (const [what, response] of await representativeResponses()) {
      const id = response.headers['x-request-id'];
      expect(id, what).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(seen.has(id as string), what).toBe(false);
      seen.add(id as string);
    }
  });

  it("a problem's requestId equals the response's x-request-id", async () => {
    for (const url of ['/api/letters', '/api/no-such-route', '/problems/no_such_code']) {
      const response = await kuvert.app.inject({ method: 'GET', url });
      expect(response.json().requestId, url).toBe(response.headers['x-request-id']);
    }
  });

  it('ignores a request id sent by the client (it could forge log lines)', async () => {
    const response = await kuvert.app.inject({
      method: 'GET',
      url: '/api/no-such-route',
      headers: { 'x-request-id': 'forged-id', 'request-id': 'forged-id' },
    });
    expect(response.headers['x-request-id']).not.toBe('forged-id');
    expect(response.json().requestId).toBe(response.headers['x-request-id']);
  });
});

describe('RFC 9457 problem responses', () => {
  it.each([
    '/api/no-such-route',
    '/api/v1/no-such-route',
    '/api/v2/letters',
    '/dev/no-such-route',
    '/.well-known/no-such-file',
    '/problems',
  ])('unknown API path %s answers 404 application/problem+json not_found', async (url) => {
    const response = await kuvert.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.json()).toMatchObject({
      type: `${testPublicUrl}/problems/not_found`,
      title: 'Not found',
      status: 404,
      code: 'not_found',
    });
  });

  it('instance is the path without the query string', async () => {
    const response = await kuvert.app.inject({
      method: 'GET',
      url: '/api/no-such-route?token=s3cr3t',
    });
    expect(response.json().instance).toBe('/api/no-such-route');
    expect(response.body).not.toContain('s3cr3t');
  });

  it('an unknown path written with another method answers a 404 problem, not the web app', async () => {
    const response = await kuvert.app.inject({ method: 'POST', url: '/letters/inbox' });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('not_found');
  });

  it('a page opened under another host name is redirected to the canonical origin', async () => {
    const response = await kuvert.app.inject({
      method: 'GET',
      url: '/letters/abc?x=1',
      headers: { host: '127.0.0.1:8080' },
    });
    expect(response.statusCode).toBe(308);
    expect(response.headers.location).toBe(`${testPublicUrl}/letters/abc?x=1`);
  });

  it('an unknown SPA path answers the web app index', async () => {
    const index = await kuvert.app.inject({ method: 'GET', url: '/', headers: canonical });
    for (const url of [`/letters/${randomUUID()}`, '/settings/sessions', '/no/such/page?x=1']) {
      const response = await kuvert.app.inject({ method: 'GET', url, headers: canonical });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type'], url).toBe('text/html; charset=utf-8');
      expect(response.body, url).toBe(index.body);
      expect(response.body, url).toContain('<div id="root">');
    }
  });

  it('an unknown file under /assets/ is a 404, never the index', async () => {
    const response = await kuvert.app.inject({ method: 'GET', url: '/assets/no-such-file.js' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('a hashed asset is served with its type and cached immutably', async () => {
    const response = await kuvert.app.inject({ method: 'GET', url: `/assets/${someAsset}` });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(response.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  // Fastify meets an undecodable URL (FST_ERR_BAD_URL) before routing; app.ts answers it
  // through the `frameworkErrors` option with the same problem document and headers.
  it('a URL with broken percent-encoding answers a 400 problem with headers', async () => {
    const response = await kuvert.app.inject({ method: 'GET', url: '/api/letters/%zz' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['x-request-id']).toBeDefined();
    expect(response.headers['content-security-policy']).toContain("default-src 'self'");
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.json().code).toBe('bad_request');
  });

  it('an unexpected error answers a generic 500 problem that reveals nothing', async () => {
    for (const url of [
      '/api/test/throws',
      '/api/test/throws-with-status',
      '/api/test/rejects-with-string',
    ]) {
      const response = await failing.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(500);
      expect(response.headers['content-type'], url).toBe('application/problem+json; charset=utf-8');
      expect(response.json(), url).toEqual({
        type: `${testPublicUrl}/problems/internal`,
        title: 'Internal error',
        status: 500,
        code: 'internal',
        instance: url,
        requestId: response.headers['x-request-id'],
      });
      expect(response.body, url).not.toContain('hunter2');
      expect(response.body, url).not.toMatch(/\/srv|stack|Error|E_UP|upstream|password/);
      expect(response.headers['content-security-policy'], url).toContain("default-src 'self'");
    }
  });

  it('malformed JSON to POST /api/session answers 400 bad_request without echoing the body', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { 'content-type': 'application/json', origin: testPublicUrl },
      payload: '{"nationalId": "01018012345", "password": lantern-over-harbour}',
    });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json().code).toBe('bad_request');
    expect(response.json().requestId).toBe(response.headers['x-request-id']);
    expect(response.body).not.toContain('lantern');
    expect(response.body).not.toContain('01018012345');
  });

  it('an empty JSON body answers 400 bad_request', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { 'content-type': 'application/json', origin: testPublicUrl },
      payload: '',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('bad_request');
  });

  it.each([
    'application/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
  ])('a %s body to POST /api/session answers 415 unsupported_media_type', async (contentType) => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { 'content-type': contentType, origin: testPublicUrl },
      payload: 'nationalId=1&password=2&totp=3',
    });
    expect(response.statusCode).toBe(415);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json().code).toBe('unsupported_media_type');
  });

  // Fastify's built-in text/plain parser is removed in app.ts; without that, a text/plain
  // body would reach schema validation and answer 422 instead of 415.
  it('a text/plain body to POST /api/session answers 415 unsupported_media_type', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { 'content-type': 'text/plain', origin: testPublicUrl },
      payload: '{"nationalId":"1","password":"2","totp":"123456"}',
    });
    expect(response.statusCode).toBe(415);
  });

  it('a body over the 1 MiB limit answers 413 payload_too_large', async () => {
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { 'content-type': 'application/json', origin: testPublicUrl },
      payload: JSON.stringify({
        nationalId: '1',
        password: 'x'.repeat(1024 * 1024 + 1),
        totp: '123456',
      }),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('payload_too_large');
  });
});

describe('development pages', () => {
  it('GET /dev/mail lists the mail sink outside production', async () => {
    expect(kuvert.context.mailSink).toBeDefined();
    const response = await kuvert.app.inject({ method: 'GET', url: '/dev/mail' });
    expect(response.statusCode).toBe(200);
    expect(Array.isArray(response.json().messages)).toBe(true);
    expect(response.headers['cache-control']).toBe('no-store');
  });

  it('GET /dev/mail answers a 404 problem in production, where no mail sink runs', async () => {
    expect(production.context.config.isProduction).toBe(true);
    expect(production.context.mailSink).toBeUndefined();
    const response = await production.app.inject({ method: 'GET', url: '/dev/mail' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json().code).toBe('not_found');
  });

  it('production registers no development route at all', () => {
    const routes = routeTable.routesOf(production.app);
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.filter((route) => route.access === 'development')).toEqual([]);
    expect(routes.filter((route) => route.url.startsWith('/dev'))).toEqual([]);
  });
});

interface OpenApiOperation {
  security?: Array<Record<string, string[]>>;
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type OpenApiDocument = {
  openapi: string;
  servers: Array<{ url: string }>;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
};

async function openApi(app: FastifyInstance = kuvert.app): Promise<OpenApiDocument> {
  const response = await app.inject({ method: 'GET', url: '/api/openapi.json' });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toContain('application/json');
  return response.json<OpenApiDocument>();
}

function operations(document: OpenApiDocument): Array<[string, OpenApiOperation]> {
  return Object.entries(document.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]): [string, OpenApiOperation] => [
      `${method.toUpperCase()} ${path}`,
      operation,
    ]),
  );
}

describe('OpenAPI document at /api/openapi.json', () => {
  it('is OpenAPI 3.1.0 with the public URL as its server', async () => {
    const document = await openApi();
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: testPublicUrl }]);
  });

  it('documents the sender API with the httpMessageSignature security scheme (RFC 9421)', async () => {
    const document = await openApi();
    expect(document.components.securitySchemes.httpMessageSignature).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Signature',
    });
    const deliver = document.paths['/api/v1/letters']?.post;
    const status = document.paths['/api/v1/letters/{id}']?.get;
    expect(deliver).toBeDefined();
    expect(status).toBeDefined();
    expect(deliver!.security).toEqual([{ httpMessageSignature: [] }]);
    expect(status!.security).toEqual([{ httpMessageSignature: [] }]);
  });

  it('every sender API operation requires the signature, and only those do', async () => {
    for (const [name, operation] of operations(await openApi())) {
      const signed = (operation.security ?? []).some((entry) => 'httpMessageSignature' in entry);
      expect(signed, name).toBe(name.split(' ')[1]!.startsWith('/api/v1/'));
    }
  });

  it('contains no development path, no health path and not itself', async () => {
    const paths = Object.keys((await openApi()).paths);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      expect(path).not.toMatch(/^\/dev(\/|$)/);
      expect(path).not.toMatch(/^\/(healthz|readyz)$/);
      expect(path).toMatch(/^\/api\//);
    }
    expect(paths).not.toContain('/api/openapi.json');
  });

  it('lists every /api route the app registers (except itself)', async () => {
    const documented = new Set(operations(await openApi()).map(([name]) => name));
    const registered = routeTable
      .routesOf(kuvert.app)
      .filter((route) => route.url.startsWith('/api/') && route.url !== '/api/openapi.json')
      .map((route) => `${route.method} ${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    expect(registered.length).toBeGreaterThan(0);
    for (const name of registered) expect(documented, name).toContain(name);
  });

  it('is the same document in production', async () => {
    expect((await openApi(production.app)).paths).toEqual((await openApi()).paths);
  });

  /** Known gaps, each a bug to fix in the route's schema; this list must stay empty. */
  const knownGaps: string[] = [];

  it('every operation has a response schema for its success status (2xx; 204 and a browser redirect, 303, have no body)', async () => {
    const gaps: string[] = [];
    for (const [name, operation] of operations(await openApi())) {
      const successes = Object.entries(operation.responses).filter(([status]) =>
        /^(2\d\d|303)$/.test(status),
      );
      const complete =
        successes.length > 0 &&
        successes.every(([status, response]) => {
          if (status === '204' || status === '303') return response.content === undefined;
          const media = Object.values(response.content ?? {});
          return media.length > 0 && media.every((entry) => entry.schema !== undefined);
        });
      if (!complete) gaps.push(name);
    }
    expect(gaps).toEqual(knownGaps);
  });
});
