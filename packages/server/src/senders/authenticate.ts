import { Transform, type TransformCallback } from 'node:stream';
import type { ContentDigestVerifier } from '@kuvert/sdk';
import type {
  FastifyRequest,
  onRequestAsyncHookHandler,
  preParsingAsyncHookHandler,
} from 'fastify';
import type { AppContext } from '../context.js';
import { KuvertError } from '../errors.js';
import {
  refuseUnlessBodyMatches,
  type SignatureNonce,
  verifySignedRequest,
} from './http-signatures.js';
import { consumeSignatureNonce, isSignatureNonceUsed } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set for signed sender requests once the signature has been verified. */
    sender?: { senderId: string; keyId: string; nonce: SignatureNonce };
  }
}

export interface SenderAuthentication {
  /** Verifies the signature from the request line and headers, before any body byte is read. */
  onRequest: onRequestAsyncHookHandler;
  /** Checks the body against the signed Content-Digest while it streams in (routes with a body). */
  preParsing: preParsingAsyncHookHandler;
}

/** Each verified request's body check, until its body has been read. */
const bodyChecks = new WeakMap<FastifyRequest, ContentDigestVerifier>();

/**
 * Hooks that admit only requests signed by a registered sender key (security invariant 4).
 * A failure answers one generic problem; the reason is logged by the error handler.
 *
 * The nonce is recorded here, once the signature verified, unless `routeRecordsNonce`: then
 * the route records `request.sender.nonce` in the statement that acts on the request (one
 * commit per letter), after the body has been checked, and must refuse the request when the
 * nonce turns out to be taken.
 */
export function authenticateSender(
  context: AppContext,
  options: { routeRecordsNonce?: boolean } = {},
): SenderAuthentication {
  const authority = new URL(context.config.KUVERT_PUBLIC_URL).host;
  return {
    onRequest: async (request) => {
      const [path = '/', query = ''] = splitUrl(request.url);
      const verified = await verifySignedRequest({
        method: request.method,
        authority,
        receivedAuthority: request.headers.host,
        path,
        query,
        headers: request.headers,
        hasBody: announcesBody(request),
        now: new Date(),
        findKey: (keyId) => context.senderKeys.find(keyId),
        nonceUsed: (keyId, nonce) => isSignatureNonceUsed(context.db, keyId, nonce),
      });
      if (!options.routeRecordsNonce) await recordNonce(context, verified.nonce);
      request.sender = {
        senderId: verified.senderId,
        keyId: verified.keyId,
        nonce: verified.nonce,
      };
      if (verified.body) bodyChecks.set(request, verified.body);
    },
    preParsing: async (request, _reply, payload) => {
      const check = bodyChecks.get(request);
      bodyChecks.delete(request);
      // No check: onRequest found no body announced (a body always needs a Content-Digest).
      if (!check) return payload;
      const checking = new BodyDigestCheck(check);
      // pipe() does not pass errors on: an aborted upload must end the parser's read too.
      payload.on('error', (error) => checking.destroy(error));
      return payload.pipe(checking);
    },
  };
}

/** Records the nonce now; false from the database means a replay or a key revoked meanwhile. */
async function recordNonce(context: AppContext, nonce: SignatureNonce): Promise<void> {
  const outcome = await consumeSignatureNonce(context.db, nonce);
  if (!outcome.keyActive) {
    throw new KuvertError('signature_invalid', undefined, {
      logReason: `key ${nonce.keyId} was revoked (found only in this server's key cache)`,
    });
  }
  if (!outcome.nonceFresh) {
    throw new KuvertError('signature_invalid', undefined, {
      logReason: `nonce was already used with key ${nonce.keyId} (replay)`,
    });
  }
}

/**
 * RFC 9112 §6.3: a request has a body when it has a Transfer-Encoding or a non-zero
 * Content-Length; the same rule decides whether Fastify reads one.
 */
function announcesBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (
    request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
  );
}

/**
 * Passes the body through unchanged while hashing it, and fails at its end when it does not
 * match the signed Content-Digest: the parser then answers 401 and the route never runs.
 */
class BodyDigestCheck extends Transform {
  constructor(private readonly check: ContentDigestVerifier) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.check.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    try {
      refuseUnlessBodyMatches(this.check);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}

function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}
