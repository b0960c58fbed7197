/**
 * The Kuvert sender client: delivers letters through the signed API and reads their
 * status. Every attempt is signed afresh (RFC 9421), the body is covered by a
 * Content-Digest (RFC 9530), and retries are safe because the server deduplicates on
 * `messageId`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type SenderKey, signRequest } from './sign.js';

export type LetterState = 'delivered' | 'notified' | 'read';

export interface LetterStatus {
  id: string;
  messageId: string;
  status: LetterState;
  deliveredAt: string;
  notifiedAt: string | null;
  readAt: string | null;
}

export type LetterReceipt = LetterStatus;

export type Recipient = { nationalId: string } | { email: string };

export interface SendLetterInput {
  /** A UUID that identifies this letter for the sender; generated when absent. */
  messageId?: string;
  recipient: Recipient;
  subject: string;
  document: { filename: string; bytes: Uint8Array; contentType?: 'application/pdf' };
  /**
   * The login the recipient needs to open the letter: `two-factor` (the default), or eID at
   * `eid-substantial` or `eid-high`.
   */
  authLevel?: 'two-factor' | 'eid-substantial' | 'eid-high';
}

/** An RFC 9457 problem document as the Kuvert API sends it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  [extension: string]: unknown;
}

/** The API answered with an error; `problem` is its RFC 9457 body. */
export class KuvertApiError extends Error {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string | undefined;
  readonly code: string | undefined;

  constructor(readonly problem: Problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.name = 'KuvertApiError';
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.code = problem.code;
  }
}

/** The server could not be reached (after all retries). */
export class KuvertConnectionError extends Error {
  constructor(
    readonly url: string,
    options: { cause: unknown },
  ) {
    super(`could not reach ${url}: ${describeCause(options.cause)}`, options);
    this.name = 'KuvertConnectionError';
  }
}

export interface KuvertClientOptions {
  /** Where the Kuvert server is, e.g. `https://kuvert.example`. */
  baseUrl: string | URL;
  key: SenderKey;
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Extra attempts after the first, for network errors, 429, 502, 503 and 504. */
  retries?: number;
  /** Backoff before retry n is random in [0, min(maxMs, baseMs * 2^n)] ("full jitter"). */
  backoff?: { baseMs?: number; maxMs?: number };
}

const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);
/** A Retry-After longer than this is capped: a client should not hang for hours. */
const MAX_RETRY_AFTER_MS = 60_000;

interface ApiRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: { bytes: Buffer; contentType: string };
}

export class KuvertClient {
  readonly #baseUrl: URL;
  readonly #key: SenderKey;
  readonly #fetch: typeof fetch;
  readonly #retries: number;
  readonly #backoffBaseMs: number;
  readonly #backoffMaxMs: number;

  constructor(options: KuvertClientOptions) {
    // A trailing slash makes relative API paths resolve below any base path.
    const base = new URL(options.baseUrl);
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.#baseUrl = base;
    this.#key = options.key;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#retries = options.retries ?? 3;
    this.#backoffBaseMs = options.backoff?.baseMs ?? 250;
    this.#backoffMaxMs = options.backoff?.maxMs ?? 8_000;
  }

  /** Delivers a letter. Sending the same `messageId` again returns the first receipt. */
  async sendLetter(input: SendLetterInput): Promise<LetterReceipt> {
    const multipart = encodeLetterForm({ ...input, messageId: input.messageId ?? randomUUID() });
    const response = await this.#request({
      method: 'POST',
      path: 'api/v1/letters',
      body: multipart,
    });
    return presentLetter(response);
  }

  async getLetter(id: string): Promise<LetterStatus> {
    const response = await this.#request({
      method: 'GET',
      path: `api/v1/letters/${encodeURIComponent(id)}`,
    });
    return presentLetter(response);
  }

  async #request(request: ApiRequest): Promise<unknown> {
    const url = new URL(request.path, this.#baseUrl);
    for (let attempt = 0; ; attempt += 1) {
      const canRetry = attempt < this.#retries;
      let response: Response;
      try {
        response = await this.#fetch(url, this.#signedInit(request, url));
      } catch (error) {
        if (!canRetry) throw new KuvertConnectionError(url.origin, { cause: error });
        await sleep(this.#backoffMs(attempt));
        continue;
      }
      if (response.ok) return readJson(response);
      if (canRetry && RETRYABLE_STATUSES.has(response.status)) {
        await response.body?.cancel();
        await sleep(retryAfterMs(response) ?? this.#backoffMs(attempt));
        continue;
      }
      throw new KuvertApiError(await readProblem(response));
    }
  }

  /** Signed per attempt: a new `created` and nonce, so a retry is not a replay. */
  #signedInit(request: ApiRequest, url: URL): RequestInit {
    const headers: Record<string, string> = {
      Accept: 'application/json, application/problem+json',
    };
    if (request.body) headers['Content-Type'] = request.body.contentType;
    const signatureHeaders = signRequest({
      method: request.method,
      url,
      headers,
      key: this.#key,
      ...(request.body ? { body: request.body.bytes } : {}),
    });
    return {
      method: request.method,
      headers: { ...headers, ...signatureHeaders },
      ...(request.body ? { body: request.body.bytes } : {}),
    };
  }

  #backoffMs(attempt: number): number {
    const ceiling = Math.min(this.#backoffMaxMs, this.#backoffBaseMs * 2 ** attempt);
    return Math.random() * ceiling;
  }
}

// ---------------------------------------------------------------------------
// Wire format of POST /api/v1/letters (RFC 7578 multipart/form-data)

/**
 * Two parts, in this order: `metadata` (application/json) and `document` (the PDF). The
 * body is built as one Buffer so the Content-Digest covers exactly the bytes sent.
 */
export function encodeLetterForm(input: SendLetterInput & { messageId: string }): {
  bytes: Buffer;
  contentType: string;
} {
  const boundary = `kuvert-${randomBytes(24).toString('hex')}`;
  const metadata = JSON.stringify({
    messageId: input.messageId,
    recipient: presentRecipient(input.recipient),
    subject: input.subject,
    ...(input.authLevel !== undefined ? { authLevel: input.authLevel } : {}),
  });
  const bytes = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\n` +
        'Content-Disposition: form-data; name="metadata"\r\n' +
        'Content-Type: application/json\r\n\r\n',
    ),
    Buffer.from(metadata, 'utf8'),
    Buffer.from(
      `\r\n--${boundary}\r\n` +
        `Content-Disposition: form-data; name="document"; filename="${escapeFilename(input.document.filename)}"\r\n` +
        `Content-Type: ${input.document.contentType ?? 'application/pdf'}\r\n\r\n`,
      'utf8',
    ),
    input.document.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Only the recipient fields the API knows leave the client. */
function presentRecipient(recipient: Recipient): Recipient {
  return 'nationalId' in recipient
    ? { nationalId: recipient.nationalId }
    : { email: recipient.email };
}

/**
 * The HTML standard's multipart/form-data encoding escapes `"`, CR and LF in filenames as
 * %22, %0D and %0A, so a filename can never end the quoted string or the header line.
 */
function escapeFilename(filename: string): string {
  return filename.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

// ---------------------------------------------------------------------------
// Responses

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new KuvertApiError({
      type: 'about:blank',
      title: 'The server sent a response that is not JSON',
      status: response.status,
    });
  }
}

/** RFC 9457: read the problem document; anything else becomes a minimal problem. */
async function readProblem(response: Response): Promise<Problem> {
  const fallback: Problem = {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
  };
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<Problem> | null;
    if (body && typeof body === 'object' && typeof body.title === 'string') {
      return {
        ...body,
        type: typeof body.type === 'string' ? body.type : 'about:blank',
        title: body.title,
        status: typeof body.status === 'number' ? body.status : response.status,
      };
    }
  } catch {
    // Not JSON (a proxy's HTML error page, say): the fallback says what we know.
  }
  return fallback;
}

const LETTER_STATES = new Set<LetterState>(['delivered', 'notified', 'read']);

function presentLetter(body: unknown): LetterStatus {
  const value = body as Partial<Record<keyof LetterStatus, unknown>> | null;
  const isNullableString = (field: unknown) => field === null || typeof field === 'string';
  if (
    !value ||
    typeof value.id !== 'string' ||
    typeof value.messageId !== 'string' ||
    !LETTER_STATES.has(value.status as LetterState) ||
    typeof value.deliveredAt !== 'string' ||
    !isNullableString(value.notifiedAt ?? null) ||
    !isNullableString(value.readAt ?? null)
  ) {
    throw new Error('the server sent a letter in an unexpected shape');
  }
  return {
    id: value.id,
    messageId: value.messageId,
    status: value.status as LetterState,
    deliveredAt: value.deliveredAt,
    notifiedAt: (value.notifiedAt as string | null | undefined) ?? null,
    readAt: (value.readAt as string | null | undefined) ?? null,
  };
}

/** RFC 9110 §10.2.3 Retry-After: delay-seconds or an HTTP-date. */
function retryAfterMs(response: Response): number | undefined {
  const header = response.headers.get('retry-after')?.trim();
  if (!header) return undefined;
  const ms = /^\d+$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function describeCause(cause: unknown): string {
  if (!(cause instanceof Error)) return String(cause);
  // undici wraps the system error (ECONNREFUSED…) in `cause`.
  const inner = (cause as Error & { cause?: unknown }).cause;
  return inner instanceof Error ? `${cause.message} (${inner.message})` : cause.message;
}
