import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';
import {
  buildRecipient,
  buildSender,
  freshTotp,
  loginAs,
  sendLetter,
  signedInject,
  type TestRecipient,
  type TestSender,
  type TestSession,
} from '../../test/support/factories.js';
import { succeedLoginMethodRoute } from '../../test/support/login-methods.js';
import { registerTestPasskey } from '../../test/support/webauthn.js';
import { startSession } from '../auth/sessions.js';
import { noStoreAccess } from './no-store.js';
import { type RouteEntry, routeTable } from './route-table.js';

/**
 * Security invariants 1 and 2, generated from the route table: for every route that takes an
 * id, the owner gets an answer and another mailbox (or sender) gets 404, exactly like an id
 * that does not exist. A new route with a parameter this matrix does not know fails here.
 */
let kuvert: TestKuvert;
const owner: { session?: TestSession; sender?: TestSender } = {};
const stranger: { session?: TestSession; sender?: TestSender } = {};
const ids: Record<string, string> = {};
let ownerRecipient: TestRecipient;

beforeAll(async () => {
  kuvert = await startTestKuvert();
  const { context, app } = kuvert;
  owner.sender = await buildSender(context);
  stranger.sender = await buildSender(context);
  ownerRecipient = await buildRecipient(context);
  const strangerRecipient = await buildRecipient(context);
  const sent = await sendLetter(app, owner.sender, {
    recipient: { nationalId: ownerRecipient.nationalId },
  });
  ids.id = sent.json().id;
  const document = await context.db
    .selectFrom('documents')
    .select('id')
    .where('letter_id', '=', ids.id!)
    .executeTakeFirstOrThrow();
  ids.documentId = document.id;
  owner.session = await loginAs(app, ownerRecipient);
  stranger.session = await loginAs(app, strangerRecipient);
  ownerMailboxId = ownerRecipient.mailboxId;
  ids.sessionId = await anotherOwnerSession();
  ids.passkeyId = (await registerTestPasskey(app, owner.session)).id;
});

let ownerMailboxId = '';
/** The id of one more live session of the owner (`:sessionId`), as the list of sessions shows it. */
async function anotherOwnerSession(): Promise<string> {
  const started = await startSession({
    db: kuvert.context.db,
    mailboxId: ownerMailboxId,
    authLevel: 'two-factor',
    userAgent: 'isolation matrix',
  });
  return started.session.sessionId;
}
afterAll(() => kuvert?.close());

function fill(route: RouteEntry): string {
  return route.url.replace(/:([A-Za-z]+)/g, (_match, name: string) => {
    const value = ids[name];
    if (!value)
      throw new Error(
        `${route.method} ${route.url}: the isolation matrix has no value for :${name}; add one`,
      );
    return value;
  });
}

async function call(route: RouteEntry, as: typeof owner) {
  const url = fill(route);
  if (route.access === 'sender') {
    return signedInject(kuvert.app, {
      method: route.method as 'GET' | 'POST',
      url,
      key: as.sender!.key,
    });
  }
  const headers: Record<string, string> = { cookie: as.session!.cookie };
  if (route.method !== 'GET') headers['x-csrf-token'] = as.session!.csrfToken;
  return kuvert.app.inject({ method: route.method as 'GET', url, headers });
}

describe('tenant isolation matrix (generated from the route table)', () => {
  it('covers every route that takes an id', () => {
    const withIds = routeTable.routesOf(kuvert.app).filter((route) => route.url.includes(':'));
    expect(withIds.length).toBeGreaterThanOrEqual(4);
    for (const route of withIds) {
      expect(['recipient', 'sender', 'public', 'development']).toContain(route.access);
    }
  });

  it('every id-taking recipient and sender route answers 404 to a stranger and succeeds for the owner', async () => {
    const routes = routeTable
      .routesOf(kuvert.app)
      .filter(
        (route) =>
          route.url.includes(':') && (route.access === 'recipient' || route.access === 'sender'),
      );
    const results: string[] = [];
    for (const route of routes) {
      const foreign = await call(route, stranger);
      const own = await call(route, owner);
      results.push(
        `${route.method} ${route.url}: stranger ${foreign.statusCode}, owner ${own.statusCode}`,
      );
      expect(foreign.statusCode, `${route.method} ${route.url} as a stranger`).toBe(404);
      expect(own.statusCode, `${route.method} ${route.url} as the owner`).toBeLessThan(300);
    }
    expect(results.length).toBe(routes.length);
  });
});

/**
 * Every answer of a recipient (or sender) route carries Cache-Control: no-store,
 * so a shared computer's cache keeps no subject after logout. Generated from the route table:
 * each such route is called successfully by its owner, so a new one cannot miss the header.
 */
describe('no-store on every answer of a private access level (generated from the route table)', () => {
  /** A successful call of the route by its owner; routes that need a body are named here. */
  async function succeed(route: RouteEntry) {
    if (route.method === 'POST' && route.url === '/api/v1/letters') {
      const recipient = await buildRecipient(kuvert.context);
      return sendLetter(kuvert.app, owner.sender!, {
        recipient: { nationalId: recipient.nationalId },
      });
    }
    if (route.method === 'PUT' && route.url === '/api/me/anti-phishing') {
      return kuvert.app.inject({
        method: 'PUT',
        url: route.url,
        headers: { cookie: owner.session!.cookie, 'x-csrf-token': owner.session!.csrfToken },
        payload: { phrase: 'heron at dawn' },
      });
    }
    const contact = /^\/api\/contact\/(email|phone)(\/verify)?$/.exec(route.url);
    if (route.method === 'POST' && contact) {
      return confirmContact(contact[1] as 'email' | 'phone', contact[2] !== undefined);
    }
    // The matrix above already ended the owner's other session: end a fresh one.
    if (route.url === '/api/me/sessions/:sessionId') ids.sessionId = await anotherOwnerSession();
    const loginMethod = await succeedLoginMethodRoute(kuvert.app, route, {
      recipient: ownerRecipient,
      session: owner.session!,
    });
    return loginMethod ?? call(route, owner);
  }

  /** Ask for a code (and, for the verify route, send it back as the owner). */
  async function confirmContact(channel: 'email' | 'phone', verify: boolean) {
    const headers = {
      cookie: owner.session!.cookie,
      'x-csrf-token': owner.session!.csrfToken,
    };
    const address = channel === 'email' ? `isolation-${randomUUID()}@example.test` : '+4791234567';
    const requested = await kuvert.app.inject({
      method: 'POST',
      url: `/api/contact/${channel}`,
      headers,
      payload: channel === 'email' ? { email: address } : { phone: address },
    });
    if (!verify) return requested;
    const text =
      channel === 'email'
        ? kuvert.context
            .mailSink!.messages()
            .filter((message) => message.to.includes(address))
            .at(-1)!.text
        : kuvert.context.smsSink!.messages().at(-1)!.text;
    const code = /\b([0-9]{6})\b/.exec(text)![1]!;
    return kuvert.app.inject({
      method: 'POST',
      url: `/api/contact/${channel}/verify`,
      headers,
      payload: { code },
    });
  }

  const isLogout = (route: RouteEntry) => route.method === 'DELETE' && route.url === '/api/session';

  it('covers the recipient and sender levels', () => {
    expect([...noStoreAccess].sort()).toEqual(['recipient', 'sender']);
  });

  it('every recipient and sender route answers with Cache-Control: no-store', async () => {
    const routes = routeTable
      .routesOf(kuvert.app)
      .filter((route) => noStoreAccess.has(route.access))
      // Logging out ends the session the other calls use: last.
      .sort((a, b) => Number(isLogout(a)) - Number(isLogout(b)));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      const response = await succeed(route);
      const name = `${route.method} ${route.url}`;
      expect(response.statusCode, name).toBeLessThan(300);
      expect(response.headers['cache-control'], name).toBe('no-store');
    }
  });

  it('the login answer, which carries the CSRF token, is no-store too', async () => {
    const recipient = await buildRecipient(kuvert.context);
    const response = await kuvert.app.inject({
      method: 'POST',
      url: '/api/session',
      headers: { origin: testPublicUrl },
      payload: {
        nationalId: recipient.nationalId,
        password: recipient.password,
        totp: await freshTotp(recipient),
      },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
  });
});
