import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, type SessionSummary } from '../../api';
import { formatFullDate } from '../../format';
import { currentLocale } from '../../i18n';
import { queryKeys } from '../../queries';
import { ErrorMessage } from '../ErrorMessage';
import { deviceLabel } from './device';

/**
 * Where the person is logged in: every live session with its device and times, this device
 * marked; each other one can be logged out, or all of them at once. The server ends them at
 * once: their next request is refused.
 */
export function SessionsSection() {
  const { t } = useTranslation();
  const locale = currentLocale();
  const queryClient = useQueryClient();
  const [announcement, setAnnouncement] = useState('');
  const sessions = useQuery({
    queryKey: queryKeys.sessions,
    queryFn: ({ signal }) => api.listSessions(signal),
  });

  const revoke = useMutation({
    mutationFn: (session: SessionSummary) => api.revokeSession(session.id),
    onSuccess: async (_result, session) => {
      setAnnouncement(t('sessions.revoked', { device: deviceLabel(session.device, t) }));
      await queryClient.invalidateQueries({ queryKey: queryKeys.me });
    },
    onError: () => setAnnouncement(t('sessions.failed')),
  });
  const revokeOthers = useMutation({
    mutationFn: () => api.revokeSessions(),
    onSuccess: async (count) => {
      setAnnouncement(t('sessions.revokedOthers', { count }));
      await queryClient.invalidateQueries({ queryKey: queryKeys.me });
    },
    onError: () => setAnnouncement(t('sessions.failed')),
  });

  const others = sessions.data?.filter((session) => !session.current) ?? [];

  return (
    <section
      className="settings-section"
      aria-labelledby="sessions-title"
      aria-busy={sessions.isPending}
    >
      <h2 id="sessions-title">{t('sessions.title')}</h2>
      <p>{t('sessions.intro')}</p>
      {sessions.isPending ? <p className="status">{t('sessions.loading')}</p> : null}
      {sessions.isError ? (
        <ErrorMessage error={sessions.error} onRetry={() => void sessions.refetch()} />
      ) : null}
      {sessions.data ? (
        <ul className="session-list" data-testid="session-list">
          {sessions.data.map((session) => {
            const device = deviceLabel(session.device, t);
            const lastSeen = formatFullDate(session.lastSeenAt, locale);
            return (
              <li key={session.id} className="session-row" data-current={session.current}>
                <div>
                  <p className="session-device">
                    {device}
                    {session.current ? (
                      <span className="badge">{t('sessions.thisDevice')}</span>
                    ) : null}
                  </p>
                  <p className="hint">
                    {t('sessions.started')}{' '}
                    <time dateTime={session.createdAt}>
                      {formatFullDate(session.createdAt, locale)}
                    </time>
                    {' · '}
                    {t('sessions.lastSeen')} <time dateTime={session.lastSeenAt}>{lastSeen}</time>
                  </p>
                </div>
                {session.current ? null : (
                  <button
                    type="button"
                    className="button button-secondary"
                    aria-label={t('sessions.revokeLabel', { device, lastSeen })}
                    disabled={revoke.isPending}
                    onClick={() => revoke.mutate(session)}
                  >
                    {t('sessions.revoke')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
      ) : null}
      {sessions.data && others.length === 0 ? <p>{t('sessions.noOthers')}</p> : null}
      {others.length > 0 ? (
        <button
          type="button"
          className="button button-secondary"
          disabled={revokeOthers.isPending}
          onClick={() => revokeOthers.mutate()}
        >
          {t('sessions.revokeOthers')}
        </button>
      ) : null}
      <p className="status" aria-live="polite" data-testid="sessions-status">
        {announcement}
      </p>
    </section>
  );
}
