/**
 * The one error type Kuvert throws on purpose. Each code is stable, documented in
 * docs/errors.md (a test checks every code has its row) and becomes an RFC 9457
 * problem document whose `type` is `${publicUrl}/problems/${code}`.
 */
export const errorCodes = {
  bad_request: { status: 400, title: 'The request is malformed' },
  unauthenticated: { status: 401, title: 'Login required' },
  signature_invalid: { status: 401, title: 'The request signature could not be verified' },
  login_failed: { status: 401, title: 'Login failed' },
  forbidden: { status: 403, title: 'Not allowed' },
  csrf_failed: { status: 403, title: 'Cross-site request refused' },
  not_found: { status: 404, title: 'Not found' },
  idempotency_conflict: {
    status: 409,
    title: 'This messageId was already used for different content',
  },
  payload_too_large: { status: 413, title: 'The request body is too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  validation_failed: { status: 422, title: 'The request is invalid' },
  invalid_national_id: { status: 422, title: 'The national identity number is not valid' },
  recipient_not_found: { status: 422, title: 'The recipient has no Kuvert mailbox' },
  document_rejected: { status: 422, title: 'The document was rejected' },
  rate_limited: { status: 429, title: 'Too many attempts' },
  internal: { status: 500, title: 'Internal error' },
  unavailable: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

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
