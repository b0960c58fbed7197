/**
 * The client for the recipient API. Cookies carry the session (HttpOnly, so this code never sees
 * it); every state-changing request also carries the CSRF token the session endpoint returned
 * (security invariant 6). Errors arrive as RFC 9457 problem documents and become `ApiError`s.
 */
import { isLanguage, type Language } from './i18n/languages';

export interface Session {
  mailbox: { id: string; language: Language };
  csrfToken: string;
  expiresAt: string;
}

export interface LetterDocument {
  id: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  pageCount: number | null;
}

export interface Letter {
  id: string;
  subject: string;
  sender: { name: string };
  deliveredAt: string;
  readAt: string | null;
  /** The login the letter needs; below it the documents are not listed. */
  authLevel?: AuthLevel;
  stepUpRequired?: boolean;
  documents: LetterDocument[];
}

export interface Device {
  browser: string | null;
  os: string | null;
}

/** One live session of the mailbox, as GET /api/me/sessions lists it. */
export interface SessionSummary {
  id: string;
  device: Device;
  authLevel: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  current: boolean;
}

export interface LoginHistoryEntry {
  at: string;
  outcome: 'succeeded' | 'failed' | 'locked_out';
  method: string | null;
  device: Device;
  /** The /24 or /48 the attempt came from, never a full address. */
  network: string | null;
}

export type AuthLevel = 'two-factor' | 'eid-substantial' | 'eid-high';

export interface Registration {
  level: AuthLevel;
  termsVersion: string;
}

export interface ContactDetails {
  language: Language;
  email: string | null;
  phone: string | null;
  phoneVerified: boolean;
  pendingEmail: string | null;
  pendingPhone: string | null;
}

export interface LoginInput {
  nationalId: string;
  password: string;
  totp: string;
}

/** A login with one of the single-use recovery codes instead of the authenticator code. */
export interface RecoveryLoginInput {
  nationalId: string;
  password: string;
  recoveryCode: string;
}

/** RFC 9457 problem details, with Kuvert's stable `code` extension member. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  /** Seconds to wait before trying again (429 rate_limited). */
  retryAfter?: number;
  requiredLevel?: string;
}

/** Codes the client makes up itself, for failures that never reached the API. */
export const clientErrorCodes = {
  network: 'network_error',
  unexpectedResponse: 'unexpected_response',
} as const;

export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string | undefined;
  readonly code: string;
  readonly retryAfter: number | undefined;
  /** For `step_up_required`: the level to log in with. */
  readonly requiredLevel: AuthLevel | undefined;

  constructor(problem: Problem, options?: { cause?: unknown }) {
    super(problem.detail ?? problem.title, options);
    this.type = problem.type;
    this.title = problem.title;
    this.status = problem.status;
    this.detail = problem.detail;
    this.code = problem.code;
    this.retryAfter = problem.retryAfter;
    const required = problem.requiredLevel;
    this.requiredLevel =
      required === 'eid-substantial' || required === 'eid-high' || required === 'two-factor'
        ? required
        : undefined;
  }

  /** The request never got an answer: offline, DNS, connection refused, blocked. */
  static network(cause: unknown): ApiError {
    return new ApiError(
      { type: 'about:blank', title: 'Network error', status: 0, code: clientErrorCodes.network },
      { cause },
    );
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns an error body into an `ApiError`. A body that is not a problem document (a proxy's HTML
 * error page, say) still gives an error with the HTTP status and a generic code.
 */
export function problemFromBody(status: number, body: unknown, statusText = ''): ApiError {
  if (isRecord(body) && typeof body.code === 'string' && typeof body.title === 'string') {
    return new ApiError({
      type: typeof body.type === 'string' ? body.type : 'about:blank',
      title: body.title,
      status: typeof body.status === 'number' ? body.status : status,
      code: body.code,
      ...(typeof body.detail === 'string' ? { detail: body.detail } : {}),
      ...(typeof body.retryAfter === 'number' ? { retryAfter: body.retryAfter } : {}),
      // step_up_required names the level to log in with.
      ...(typeof body.requiredLevel === 'string' ? { requiredLevel: body.requiredLevel } : {}),
    });
  }
  return new ApiError({
    type: 'about:blank',
    title: statusText || `HTTP ${status}`,
    status,
    code: clientErrorCodes.unexpectedResponse,
  });
}

async function readProblem(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    const text = await response.text();
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  return problemFromBody(response.status, body, response.statusText);
}

function parseSession(body: unknown): Session {
  if (
    isRecord(body) &&
    typeof body.csrfToken === 'string' &&
    typeof body.expiresAt === 'string' &&
    isRecord(body.mailbox) &&
    typeof body.mailbox.id === 'string'
  ) {
    return {
      mailbox: {
        id: body.mailbox.id,
        language: isLanguage(body.mailbox.language) ? body.mailbox.language : 'nb',
      },
      csrfToken: body.csrfToken,
      expiresAt: body.expiresAt,
    };
  }
  throw new ApiError({
    type: 'about:blank',
    title: 'Unexpected session response',
    status: 200,
    code: clientErrorCodes.unexpectedResponse,
  });
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal | undefined;
  accept?: string;
  /** A 401 from a protected call means the session is gone: the app sends the user to login. */
  protected: boolean;
}

export interface ApiClientOptions {
  /** Empty in the browser (same origin); an absolute origin in tests. */
  baseUrl?: string;
  fetch?: typeof fetch;
}

export type ApiClient = ReturnType<typeof createApiClient>;

export function createApiClient(options: ApiClientOptions = {}) {
  const baseUrl = options.baseUrl ?? '';
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let csrfToken: string | null = null;
  let unauthorizedHandler: (() => void) | null = null;

  async function request(method: string, path: string, opts: RequestOptions): Promise<Response> {
    const send = async (): Promise<Response> => {
      const headers = new Headers({ Accept: opts.accept ?? 'application/json' });
      if (opts.body !== undefined) headers.set('Content-Type', 'application/json');
      if (method !== 'GET' && method !== 'HEAD' && csrfToken)
        headers.set('X-CSRF-Token', csrfToken);
      try {
        return await doFetch(`${baseUrl}${path}`, {
          method,
          headers,
          credentials: 'same-origin',
          ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (error) {
        if (isAbort(error)) throw error;
        throw ApiError.network(error);
      }
    };

    let response = await send();
    // The token belongs to the session; when the session was rotated elsewhere (another tab
    // logged in again), fetch the current token once and repeat the request.
    if (response.status === 403 && method !== 'GET') {
      const error = await readProblem(response.clone());
      if (error.code === 'csrf_failed' && (await getSession())) response = await send();
    }
    if (response.ok) return response;

    const error = await readProblem(response);
    if (error.status === 401 && opts.protected) unauthorizedHandler?.();
    throw error;
  }

  async function json<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (cause) {
      throw new ApiError(
        {
          type: 'about:blank',
          title: 'Unexpected response',
          status: response.status,
          code: clientErrorCodes.unexpectedResponse,
        },
        { cause },
      );
    }
  }

  function remember(session: Session | null): Session | null {
    csrfToken = session?.csrfToken ?? null;
    return session;
  }

  /** The current session, or null when nobody is logged in. */
  async function getSession(signal?: AbortSignal): Promise<Session | null> {
    try {
      const response = await request('GET', '/api/session', { signal, protected: false });
      return remember(parseSession(await json<unknown>(response)));
    } catch (error) {
      if (isApiError(error) && error.status === 401) return remember(null);
      throw error;
    }
  }

  return {
    /** Called on a 401 from any protected call (the session expired or was revoked). */
    setUnauthorizedHandler(handler: (() => void) | null): void {
      unauthorizedHandler = handler;
    },

    getSession,

    async login(input: LoginInput | RecoveryLoginInput): Promise<Session> {
      const response = await request('POST', '/api/session', { body: input, protected: false });
      return remember(parseSession(await json<unknown>(response))) as Session;
    },

    /** Passwordless login: the JSON of navigator.credentials.get() for a passkey. */
    async loginWithPasskey(credential: unknown): Promise<Session> {
      const response = await request('POST', '/api/session/passkey', {
        body: { credential },
        protected: false,
      });
      return remember(parseSession(await json<unknown>(response))) as Session;
    },

    /**
     * A JSON call of a recipient route, for feature modules that keep their own typed wrappers
     * (components/settings/login-methods-api.ts). Null for an answer without a body (204).
     */
    async call<T>(
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      path: string,
      body?: unknown,
      options: { protected?: boolean } = {},
    ): Promise<T | null> {
      const response = await request(method, path, {
        ...(body !== undefined ? { body } : {}),
        protected: options.protected ?? true,
      });
      if (response.status === 204) return null;
      return json<T>(response);
    },

    async logout(): Promise<void> {
      try {
        await request('DELETE', '/api/session', { protected: false });
      } catch (error) {
        // Already logged out (expired or revoked) is what we wanted anyway.
        if (!(isApiError(error) && error.status === 401)) throw error;
      } finally {
        remember(null);
      }
    },

    async listLetters(signal?: AbortSignal): Promise<Letter[]> {
      const response = await request('GET', '/api/letters', { signal, protected: true });
      const body = await json<{ letters: Letter[] }>(response);
      return body.letters;
    },

    async getLetter(id: string, signal?: AbortSignal): Promise<Letter> {
      const response = await request('GET', `/api/letters/${encodeURIComponent(id)}`, {
        signal,
        protected: true,
      });
      return json<Letter>(response);
    },

    /** The document's bytes, exactly as stored (for a PDF: to render and to save). */
    async getDocumentContent(
      letterId: string,
      documentId: string,
      signal?: AbortSignal,
    ): Promise<ArrayBuffer> {
      const path = `/api/letters/${encodeURIComponent(letterId)}/documents/${encodeURIComponent(documentId)}/content`;
      const response = await request('GET', path, {
        signal,
        accept: 'application/pdf, application/octet-stream, */*',
        protected: true,
      });
      return response.arrayBuffer();
    },

    /** The registration this browser has in progress after a first eID login. */
    async getRegistration(signal?: AbortSignal): Promise<Registration | null> {
      try {
        const response = await request('GET', '/api/register', { signal, protected: false });
        return await json<Registration>(response);
      } catch (error) {
        if (isApiError(error) && error.status === 401) return null;
        throw error;
      }
    },

    async register(input: { termsVersion: string; language: Language }): Promise<Session> {
      const response = await request('POST', '/api/register', {
        body: { acceptTerms: true, ...input },
        protected: false,
      });
      return remember(parseSession(await json<unknown>(response))) as Session;
    },

    async getContact(signal?: AbortSignal): Promise<ContactDetails> {
      const response = await request('GET', '/api/contact', { signal, protected: true });
      return json<ContactDetails>(response);
    },

    async requestContactCode(channel: 'email' | 'phone', address: string): Promise<void> {
      await request('POST', `/api/contact/${channel}`, {
        body: channel === 'email' ? { email: address } : { phone: address },
        protected: true,
      });
    },

    async verifyContactCode(channel: 'email' | 'phone', code: string): Promise<void> {
      await request('POST', `/api/contact/${channel}/verify`, { body: { code }, protected: true });
    },

    async markRead(id: string): Promise<void> {
      await request('POST', `/api/letters/${encodeURIComponent(id)}/read`, { protected: true });
    },

    async listSessions(signal?: AbortSignal): Promise<SessionSummary[]> {
      const response = await request('GET', '/api/me/sessions', { signal, protected: true });
      return (await json<{ sessions: SessionSummary[] }>(response)).sessions;
    },

    async revokeSession(id: string): Promise<void> {
      await request('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`, { protected: true });
    },

    /** Log out everywhere else (or, with `everywhere`, here too); returns how many ended. */
    async revokeSessions(options: { everywhere?: boolean } = {}): Promise<number> {
      const query = options.everywhere ? '?everywhere=true' : '';
      const response = await request('DELETE', `/api/me/sessions${query}`, { protected: true });
      if (options.everywhere) remember(null);
      return (await json<{ revoked: number }>(response)).revoked;
    },

    async loginHistory(signal?: AbortSignal): Promise<LoginHistoryEntry[]> {
      const response = await request('GET', '/api/me/login-history', { signal, protected: true });
      return (await json<{ entries: LoginHistoryEntry[] }>(response)).entries;
    },

    async getAntiPhishingPhrase(signal?: AbortSignal): Promise<string | null> {
      const response = await request('GET', '/api/me/anti-phishing', { signal, protected: true });
      return (await json<{ phrase: string | null }>(response)).phrase;
    },

    async setAntiPhishingPhrase(phrase: string): Promise<string | null> {
      const response = await request('PUT', '/api/me/anti-phishing', {
        body: { phrase },
        protected: true,
      });
      return (await json<{ phrase: string | null }>(response)).phrase;
    },

    async removeAntiPhishingPhrase(): Promise<void> {
      await request('DELETE', '/api/me/anti-phishing', { protected: true });
    },
  };
}

/** The app's one client, talking to its own origin. */
export const api = createApiClient();
