import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKuvert, type TestKuvert, testPublicUrl } from '../../test/support/app.js';

/**
 * KUVERT_TRUST_PROXY decides whose address login limits and the audit log see: the
 * connection's, or the client's from X-Forwarded-For when the connection is a trusted proxy.
 */
async function failedLoginAddress(kuvert: TestKuvert): Promise<unknown> {
  const response = await kuvert.app.inject({
    method: 'POST',
    url: '/api/session',
    headers: { origin: testPublicUrl, 'x-forwarded-for': '203.0.113.9' },
    payload: { nationalId: '01010112345', password: 'not the passphrase at all', totp: '000000' },
  });
  expect(response.statusCode).toBe(401);
  const entry = await kuvert.context.db
    .selectFrom('audit_log')
    .select('details')
    .where('action', '=', 'login.failed')
    .orderBy('seq', 'desc')
    .executeTakeFirstOrThrow();
  return (entry.details as { ip?: unknown }).ip;
}

describe('trusted proxies', () => {
  let direct: TestKuvert;
  let proxied: TestKuvert;
  beforeAll(async () => {
    direct = await startTestKuvert();
    // app.inject connects from 127.0.0.1, which plays the proxy here.
    proxied = await startTestKuvert({ KUVERT_TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    await direct?.close();
    await proxied?.close();
  });

  it('without KUVERT_TRUST_PROXY, X-Forwarded-For is ignored: the connection is the client', async () => {
    expect(await failedLoginAddress(direct)).toBe('127.0.0.1');
  });

  it('behind a trusted proxy, the client address comes from X-Forwarded-For', async () => {
    expect(await failedLoginAddress(proxied)).toBe('203.0.113.9');
  });
});
