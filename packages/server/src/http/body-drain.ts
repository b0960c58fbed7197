import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * How much of a refused body is still read after the answer, and for how long, before the
 * connection is closed.
 */
export interface DrainLimits {
  maxBytes: number;
  maxMs: number;
}

export const defaultDrainLimits: DrainLimits = { maxBytes: 4 * 1024 * 1024, maxMs: 5_000 };

/**
 * An answer sent before the request body has arrived in full (413 for a body over the limit,
 * 401 for a request refused before its body is read) must reach a client that is still
 * uploading. Closing the socket at once, as Fastify does (`Connection: close`), discards the
 * unread body, so the kernel answers with a TCP reset and most clients report "connection
 * reset" instead of the 413. Instead the rest of the body is read and thrown away, up to
 * `maxBytes` more or `maxMs`, whichever comes first; then the connection is closed. A body that
 * ends within the bound leaves a healthy keep-alive connection behind.
 *
 * Installed once for the whole app (an onSend hook), so any route's early refusal gets it: a
 * route that reads its body itself only has to throw (KuvertError `payload_too_large`, say)
 * and must not destroy `request.raw`, which would destroy the socket with it.
 */
export function installBodyDrain(app: FastifyInstance, limits = defaultDrainLimits): void {
  app.addHook('onSend', async (request, reply, payload) => {
    if (bodyStillArriving(request)) drainRequestBody(request, reply, limits);
    return payload;
  });
}

/** A real connection whose request body has not been read to its end. */
function bodyStillArriving(request: FastifyRequest): boolean {
  // `complete` is false until Node's parser has seen the end of the message; an injected
  // request (light-my-request) has no socket to keep.
  return request.raw.complete === false && !request.raw.destroyed && isRealSocket(request);
}

function isRealSocket(request: FastifyRequest): boolean {
  const socket = request.raw.socket as { bytesRead?: unknown } | null;
  return typeof socket?.bytesRead === 'number';
}

export function drainRequestBody(
  request: FastifyRequest,
  reply: FastifyReply,
  limits: DrainLimits,
): void {
  const body = request.raw;
  const socket = body.socket;
  // Without `Connection: close` Node keeps the socket after the answer and goes on parsing
  // the body; the bound below closes it when the body does not end soon.
  reply.removeHeader('connection');
  // Whoever read the body so far (a parser that gave up) no longer gets it. A stream the body
  // was piped into (a preParsing check, say) must not see it end either: it would finish its
  // work on a body cut short and fail with nobody left to hear the error.
  body.unpipe();
  body.removeAllListeners('data');
  let drained = 0;
  const stop = (reason: 'bytes' | 'time' | undefined) => {
    clearTimeout(timer);
    body.removeListener('data', count);
    body.removeListener('end', finished);
    socket.removeListener('close', finished);
    if (reason) {
      request.log.info({ drained, reason }, 'closing the connection of a refused body');
      socket.destroy();
    }
  };
  const count = (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > limits.maxBytes) stop('bytes');
  };
  const finished = () => stop(undefined);
  const timer = setTimeout(() => stop('time'), limits.maxMs);
  timer.unref();
  body.on('data', count);
  body.once('end', finished);
  socket.once('close', finished);
  body.resume();
}
