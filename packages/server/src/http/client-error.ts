import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { KuvertError } from '../errors.js';
import { securityHeaders } from './security-headers.js';

/**
 * Node's HTTP parser refuses some requests before any request object exists: headers over the
 * 16 KiB limit (431), bytes that are not HTTP/1.1 (400), a request that does not arrive in time
 * (408). Node then emits `clientError` with the raw socket, and Fastify's default answer is plain
 * JSON without our headers. This writes the same RFC 9457 problem document as every other
 * error, with the security headers and a request id (logged with the reason, so an operator can
 * find it), as a minimal well-formed HTTP/1.1 response, and closes the connection.
 */
export function clientErrorHandler(options: { publicUrl: string; log: FastifyBaseLogger }) {
  const answered = new WeakSet<Socket>();
  return (error: Error & { code?: string }, socket: Socket): void => {
    // A reset connection has nobody to answer; a second parser error on a socket already
    // answered (more bytes of the same bad request) needs no second answer.
    if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
    answered.add(socket);
    const refusal = refusalFor(error.code);
    const requestId = randomUUID();
    options.log.info(
      { requestId, code: refusal.code, reason: error.code ?? error.message },
      'request refused by the HTTP parser',
    );
    // A response already being written on this connection would be corrupted by ours.
    if (!socket.writable || responseInProgress(socket)) {
      socket.destroy();
      return;
    }
    socket.end(rawProblemResponse(refusal, requestId, options.publicUrl));
    // Give the client a moment to read the answer and close first; then close regardless.
    const closer = setTimeout(() => socket.destroy(), 2_000);
    closer.unref();
    socket.once('close', () => clearTimeout(closer));
  };
}

function refusalFor(code: string | undefined): KuvertError {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return new KuvertError('request_headers_too_large');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new KuvertError('request_timeout');
    default:
      return new KuvertError('bad_request', 'The request is not valid HTTP/1.1.');
  }
}

function responseInProgress(socket: Socket): boolean {
  const current = Reflect.get(socket, '_httpMessage') as { headersSent?: boolean } | undefined;
  return current?.headersSent === true;
}

/** Status line, headers and a problem document, ready for the socket. */
export function rawProblemResponse(
  error: KuvertError,
  requestId: string,
  publicUrl: string,
): string {
  const body = JSON.stringify({
    type: `${publicUrl}/problems/${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail !== undefined ? { detail: error.detail } : {}),
    requestId,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'x-request-id': requestId,
    ...securityHeaders,
    date: new Date().toUTCString(),
    connection: 'close',
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}
