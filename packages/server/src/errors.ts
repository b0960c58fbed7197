/**
 * The one error type Kuvert throws on purpose. Each code is stable, documented in
 * docs/errors.md (generated from this table; a test fails when it is stale) and becomes an RFC 9457
 * problem document whose `type` is `${publicUrl}/problems/${code}`.
 */
export const errorCodes = {
  bad_request: {
    status: 400,
    title: 'The request is malformed',
    help: 'The body could not be parsed (for example invalid JSON or a broken multipart body). Check the encoding and the Content-Type header.',
  },
  passkey_failed: {
    status: 400,
    title: 'The passkey could not be registered',
    help: 'The browser’s answer to the passkey registration could not be verified: it was too late (a challenge lasts five minutes and works once), for another site, without user verification, or for a passkey already registered. Start the registration again. The server log has the precise reason under the request id.',
  },
  unauthenticated: {
    status: 401,
    title: 'Login required',
    help: 'No valid session: it is missing, expired or revoked. Log in again.',
  },
  signature_invalid: {
    status: 401,
    title: 'The request signature could not be verified',
    help: 'A sender request must carry a valid RFC 9421 signature made within 300 seconds with a registered key, covering @method, @authority (the host of KUVERT_PUBLIC_URL), @path, @query and date, and with a body content-digest and content-type, with a fresh nonce. It is checked before the body is read. The server log has the precise reason under the request id; the answer never says which check failed.',
  },
  login_failed: {
    status: 401,
    title: 'Login failed',
    help: 'The national identity number, password or authenticator code was wrong. The answer never says which.',
  },
  forbidden: {
    status: 403,
    title: 'Not allowed',
    help: 'The caller is known but may not do this.',
  },
  csrf_failed: {
    status: 403,
    title: 'Cross-site request refused',
    help: 'A state-changing request from the web app must come from the service origin and carry the X-CSRF-Token header returned with the session.',
  },
  step_up_required: {
    status: 403,
    title: 'A stronger login is needed',
    help: 'The letter (or action) needs a higher assurance level than the session has. The `requiredLevel` member names it (`eid-substantial` or `eid-high`): log in again with eID at that level (step-up) and retry.',
  },
  not_found: {
    status: 404,
    title: 'Not found',
    help: 'There is nothing at this address for the caller. A letter of another mailbox or sender answers exactly like one that does not exist.',
  },
  request_timeout: {
    status: 408,
    title: 'The request took too long to arrive',
    help: 'The server waited too long for the request headers or body. Check the connection and send it again.',
  },
  idempotency_conflict: {
    status: 409,
    title: 'This messageId was already used for different content',
    help: 'A sender messageId identifies one letter. Resending the same content returns the existing letter; different content needs a new messageId.',
  },
  payload_too_large: {
    status: 413,
    title: 'The request body is too large',
    help: 'Documents are limited in size; split the letter or compress the PDF.',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported content type',
    help: 'Send JSON as application/json, and letters as multipart/form-data with a metadata part and a document part.',
  },
  validation_failed: {
    status: 422,
    title: 'The request is invalid',
    help: 'A field is missing or has the wrong form; the detail names it.',
  },
  invalid_national_id: {
    status: 422,
    title: 'The national identity number is not valid',
    help: 'A national identity number (fødselsnummer or D-number) has 11 digits, a valid date and two valid control digits.',
  },
  recipient_not_found: {
    status: 422,
    title: 'The recipient has no Kuvert mailbox',
    help: 'Nobody with this national identity number or email address has a mailbox here. Send the letter by another channel, for example on paper.',
  },
  document_rejected: {
    status: 422,
    title: 'The document was rejected',
    help: 'Documents must be valid, unencrypted PDFs within the size and page limits, without JavaScript, launch actions or embedded files. The detail says what was found.',
  },
  rate_limited: {
    status: 429,
    title: 'Too many attempts',
    help: 'Too many failed logins for this account or from this address, or too many vulnerability reports from this address. Wait as long as Retry-After says and try again.',
  },
  request_headers_too_large: {
    status: 431,
    title: 'The request headers are too large',
    help: 'The request line and headers together exceed the server limit (16 KiB). Send fewer or shorter headers, for example fewer cookies.',
  },
  internal: {
    status: 500,
    title: 'Internal error',
    help: 'Something failed on the server. Nothing was stored half-way; retrying is safe. The log has details under the request id.',
  },
  unavailable: {
    status: 503,
    title: 'Service unavailable',
    help: 'A dependency (database or blob store) is not reachable. Retry later.',
  },
} as const satisfies Record<string, { status: number; title: string; help: string }>;

export type ErrorCode = keyof typeof errorCodes;

export class KuvertError extends Error {
  readonly status: number;
  readonly title: string;

  /**
   * @param code stable machine-readable code
   * @param detail human-readable detail safe to show to the client; omit when the detail
   *   could help an attacker (the log gets `logReason` instead)
   */
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extra: { logReason?: string; fields?: Record<string, unknown> } = {},
  ) {
    super(detail ?? errorCodes[code].title);
    this.name = 'KuvertError';
    this.status = errorCodes[code].status;
    this.title = errorCodes[code].title;
  }
}

export const isKuvertError = (error: unknown): error is KuvertError => error instanceof KuvertError;
