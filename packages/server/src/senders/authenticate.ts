import type { preHandlerAsyncHookHandler } from 'fastify';
import type { AppContext } from '../context.js';
import { verifySignedRequest } from './http-signatures.js';
import { consumeSignatureNonce, findSenderKey } from './service.js';

/** A verified signature's nonce, to be recorded in the transaction that acts on the request. */
export interface PendingNonce {
  keyId: string;
  nonce: string;
  expiresAt: Date;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for signed sender requests once the signature has been verified. */
    sender?: { senderId: string; keyId: string; pendingNonce?: PendingNonce };
  }
}

/**
 * A preHandler that admits only requests signed by a registered sender key (security
 * invariant 4). A failure answers one generic problem; the reason is logged by the error handler.
 */
export function authenticateSender(
  context: AppContext,
  options: { deferNonce?: boolean } = {},
): preHandlerAsyncHookHandler {
  return async (request) => {
    const [path = '/', query = ''] = splitUrl(request.url);
    let pendingNonce: PendingNonce | undefined;
    const verified = await verifySignedRequest({
      method: request.method,
      authority: request.headers.host ?? '',
      path,
      query,
      headers: request.headers,
      body: Buffer.isBuffer(request.body) ? request.body : undefined,
      now: new Date(),
      findKey: (keyId) => findSenderKey(context.db, keyId),
      // With deferNonce the route records the nonce inside its own transaction (one commit per
      // letter instead of two) and must refuse the request when the nonce is already there.
      consumeNonce: async (keyId, nonce, expiresAt) => {
        if (!options.deferNonce) return consumeSignatureNonce(context.db, keyId, nonce, expiresAt);
        pendingNonce = { keyId, nonce, expiresAt };
        return true;
      },
    });
    request.sender = pendingNonce ? { ...verified, pendingNonce } : verified;
  };
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}
