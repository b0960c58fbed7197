import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { testPublicUrl } from './app.js';
import { currentTotp, type TestRecipient, type TestSession } from './factories.js';
import { createPasskey, registerTestPasskey, testRelyingParty } from './webauthn.js';

/**
 * A successful call of each login-method route that needs a body or a prepared state, for the
 * checks generated from the route table (no-store on every recipient answer). Undefined for
 * routes that succeed with a bare call.
 */
export async function succeedLoginMethodRoute(
  app: FastifyInstance,
  route: { method: string; url: string },
  owner: { recipient: TestRecipient; session: TestSession },
): Promise<LightMyRequestResponse | undefined> {
  const headers = {
    cookie: owner.session.cookie,
    'x-csrf-token': owner.session.csrfToken,
    origin: testPublicUrl,
  };
  const post = (url: string, payload?: Record<string, unknown>) =>
    app.inject({ method: 'POST', url, headers, ...(payload ? { payload } : {}) });
  switch (`${route.method} ${route.url}`) {
    case 'PUT /api/me/passphrase': {
      const passphrase = 'copper kettle sings at dawn';
      const response = await app.inject({
        method: 'PUT',
        url: route.url,
        headers,
        payload: { current: owner.recipient.password, passphrase },
      });
      owner.recipient.password = passphrase;
      return response;
    }
    case 'POST /api/me/totp/confirm': {
      const started = await post('/api/me/totp');
      const { secret } = started.json<{ secret: string }>();
      return post(route.url, { code: currentTotp(secret) });
    }
    case 'POST /api/me/passkeys': {
      const options = await post('/api/me/passkeys/registration-options');
      const { response } = createPasskey(options.json(), testRelyingParty);
      return post(route.url, { credential: response });
    }
    case 'DELETE /api/me/passkeys/:passkeyId': {
      const { id } = await registerTestPasskey(app, owner.session);
      return app.inject({ method: 'DELETE', url: `/api/me/passkeys/${id}`, headers });
    }
    default:
      return undefined;
  }
}
