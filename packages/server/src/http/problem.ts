import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ErrorCode, errorCodes, isKuvertError, KuvertError } from '../errors.js';
import { explainSchemaIssue } from '../safe-text.js';
import { pathOf } from './request-target.js';

/** RFC 9457 problem details, as every API error leaves Kuvert. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  instance?: string;
  requestId: string;
  [extension: string]: unknown;
}

export function problemFor(
  error: KuvertError,
  request: FastifyRequest,
  publicUrl: string,
): Problem {
  return {
    type: `${publicUrl}/problems/${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail !== undefined ? { detail: error.detail } : {}),
    ...(error.extra.fields ?? {}),
    instance: pathOf(request.url),
    requestId: request.id,
  };
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .header('content-type', 'application/problem+json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(problem));
}

/** Fastify's own errors that mean "the client sent something wrong", mapped to our codes. */
function translateFrameworkError(
  error: FastifyError,
  request: FastifyRequest,
): KuvertError | undefined {
  if (error.validation) {
    const context = error.validationContext ?? 'body';
    const root = validatedPart(request, context);
    const detail = error.validation
      .map((issue) => explainSchemaIssue(context, issue, root))
      .join('; ');
    return new KuvertError('validation_failed', detail);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KuvertError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KuvertError('unsupported_media_type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new KuvertError('bad_request', error.message);
    default:
      break;
  }
  if (error.statusCode === 400 && error instanceof SyntaxError) {
    return new KuvertError('bad_request', 'The JSON body could not be parsed.');
  }
  if (error.statusCode === 429) return new KuvertError('rate_limited');
  return undefined;
}

/** The part of the request a schema judged, to say what was found in it. */
function validatedPart(request: FastifyRequest, context: string): unknown {
  switch (context) {
    case 'body':
      return request.body;
    case 'querystring':
      return request.query;
    case 'params':
      return request.params;
    case 'headers':
      return request.headers;
    default:
      return undefined;
  }
}

/**
 * One error handler for the whole app: known errors become their problem document, anything
 * unknown becomes a generic 500 that reveals nothing (Fastify's default would echo the message).
 */
export function installProblemHandlers(app: FastifyInstance, publicUrl: string): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = isKuvertError(error) ? error : translateFrameworkError(error, request);
    if (known) {
      const level = known.status >= 500 ? 'error' : 'info';
      request.log[level](
        { code: known.code, reason: known.extra.logReason ?? known.detail },
        'request refused',
      );
      return sendProblem(reply, problemFor(known, request, publicUrl));
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, problemFor(new KuvertError('internal'), request, publicUrl));
  });
}

/** A description of every error code, served at the problem type URIs. */
export function describeErrorCode(code: string) {
  if (!Object.hasOwn(errorCodes, code)) return undefined;
  const entry = errorCodes[code as ErrorCode];
  return { code, status: entry.status, title: entry.title, description: entry.help };
}
