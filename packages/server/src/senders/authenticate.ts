import type { preHandlerAsyncHookHandler } from 'fastify';
import type { AppContext } from '../context.js';
import { verifySignedRequest } from './http-signatures.js';
import { consumeSignatureNonce, findSenderKey } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for signed sender requests once the signature has been verified. */
    sender?: { senderId: string; keyId: string };
  }
}

/**
 * A preHandler that admits only requests signed by a registered sender key (security
 * invariant 4). A failure answers one generic problem; the reason is logged by the error handler.
 */
export function authenticateSender(context: AppContext): preHandlerAsyncHookHandler {
  return async (request) => {
    const [path = '/', query = ''] = splitUrl(request.url);
    request.sender = await verifySignedRequest({
      method: request.method,
      authority: request.headers.host ?? '',
      path,
      query,
      headers: request.headers,
      body: Buffer.isBuffer(request.body) ? request.body : undefined,
      now: new Date(),
      findKey: (keyId) => findSenderKey(context.db, keyId),
      consumeNonce: (keyId, nonce, expiresAt) => consumeSignatureNonce(context.db, keyId, nonce, expiresAt),
    });
  };
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}
