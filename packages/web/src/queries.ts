import { QueryClient, useQuery } from '@tanstack/react-query';
import { api, isApiError, type Letter, type Session } from './api';
import { applyMailboxLanguage } from './i18n';

/** Every cache key in one place, so invalidation never misses one. */
export const queryKeys = {
  session: ['session'] as const,
  letters: ['letters'] as const,
  letter: (id: string) => ['letters', id] as const,
  document: (letterId: string, documentId: string) =>
    ['letters', letterId, 'documents', documentId] as const,
  /** Everything under 'me' belongs to the person logged in and goes with the session. */
  me: ['me'] as const,
  sessions: ['me', 'sessions'] as const,
  loginHistory: ['me', 'login-history'] as const,
  antiPhishing: ['me', 'anti-phishing'] as const,
};

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Retry only what may pass next time: the network and the server's 5xx, never a 4xx.
        retry: (failureCount, error) =>
          failureCount < 2 && isApiError(error) && (error.status === 0 || error.status >= 500),
        staleTime: 30_000,
      },
      mutations: { retry: false },
    },
  });
}

async function loadSession(signal: AbortSignal): Promise<Session | null> {
  const session = await api.getSession(signal);
  if (session) await applyMailboxLanguage(session.mailbox.language);
  return session;
}

/** The current session (null: not logged in). */
export function useSession() {
  return useQuery({
    queryKey: queryKeys.session,
    queryFn: ({ signal }) => loadSession(signal),
    staleTime: 60_000,
  });
}

/** Letters newest first (the API sends them so; sorting here keeps the promise if it does not). */
export function sortNewestFirst(letters: readonly Letter[]): Letter[] {
  return [...letters].sort((a, b) => Date.parse(b.deliveredAt) - Date.parse(a.deliveredAt));
}

export function useLetters() {
  return useQuery({
    queryKey: queryKeys.letters,
    queryFn: async ({ signal }) => sortNewestFirst(await api.listLetters(signal)),
  });
}

/** Forget everything that belonged to the session. */
export function clearSessionData(queryClient: QueryClient): void {
  queryClient.setQueryData(queryKeys.session, null);
  queryClient.removeQueries({ queryKey: queryKeys.letters });
  queryClient.removeQueries({ queryKey: queryKeys.me });
}
