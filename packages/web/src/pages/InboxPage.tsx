import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useDocumentTitle } from '../components/DocumentTitle';
import { ErrorMessage } from '../components/ErrorMessage';
import { formatInboxDate } from '../format';
import { currentLocale } from '../i18n';
import { useLetters } from '../queries';

export function InboxPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('inbox.title'));
  const letters = useLetters();
  const locale = currentLocale();
  const unread = letters.data?.filter((letter) => letter.readAt === null).length ?? 0;

  return (
    <section className="inbox" aria-labelledby="inbox-title" aria-busy={letters.isPending}>
      <div className="page-heading">
        <h1 id="inbox-title">{t('inbox.title')}</h1>
        {unread > 0 ? <p className="badge">{t('inbox.unreadCount', { count: unread })}</p> : null}
      </div>

      {letters.isPending ? <p className="status">{t('inbox.loading')}</p> : null}
      {letters.isError ? (
        <ErrorMessage error={letters.error} onRetry={() => void letters.refetch()} />
      ) : null}

      {letters.data && letters.data.length === 0 ? (
        <div className="empty-state">
          <span className="empty-mark" aria-hidden="true" />
          <h2>{t('inbox.empty.title')}</h2>
          <p>{t('inbox.empty.body')}</p>
        </div>
      ) : null}

      {letters.data && letters.data.length > 0 ? (
        <ul className="letter-list">
          {letters.data.map((letter) => {
            const isUnread = letter.readAt === null;
            return (
              <li key={letter.id}>
                <Link
                  to={`/letters/${encodeURIComponent(letter.id)}`}
                  className={isUnread ? 'letter-row letter-row-unread' : 'letter-row'}
                  data-testid="letter-row"
                  data-unread={isUnread ? 'true' : 'false'}
                >
                  <span className="letter-marker">
                    {isUnread ? (
                      <>
                        <span className="unread-dot" aria-hidden="true" />
                        <span className="visually-hidden">{t('inbox.unread')}</span>
                      </>
                    ) : null}
                  </span>
                  <span className="letter-sender">{letter.sender.name}</span>
                  <span className="letter-subject">
                    {letter.subject}
                    {letter.stepUpRequired ? (
                      <span className="letter-badge" data-testid="needs-step-up">
                        {' '}
                        {t('stepUp.badge')}
                      </span>
                    ) : null}
                  </span>
                  <time className="letter-date" dateTime={letter.deliveredAt}>
                    {formatInboxDate(letter.deliveredAt, locale)}
                  </time>
                </Link>
              </li>
            );
          })}
        </ul>
      ) : null}
    </section>
  );
}
