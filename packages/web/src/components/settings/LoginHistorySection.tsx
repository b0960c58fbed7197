import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { api, type LoginHistoryEntry } from '../../api';
import { formatFullDate } from '../../format';
import { currentLocale } from '../../i18n';
import { queryKeys } from '../../queries';
import { ErrorMessage } from '../ErrorMessage';
import { deviceLabel } from './device';

/**
 * Recent logins and failed attempts on the account, from the audit log: when, how, from which
 * device and roughly where (a network, never someone's full address).
 */
export function LoginHistorySection() {
  const { t } = useTranslation();
  const locale = currentLocale();
  const history = useQuery({
    queryKey: queryKeys.loginHistory,
    queryFn: ({ signal }) => api.loginHistory(signal),
  });

  const outcomes: Record<LoginHistoryEntry['outcome'], string> = {
    succeeded: t('history.succeeded'),
    failed: t('history.failed'),
    locked_out: t('history.locked_out'),
  };
  const methods: Record<string, string> = {
    'password+totp': t('history.methods.password+totp'),
  };

  return (
    <section
      className="settings-section"
      aria-labelledby="history-title"
      aria-busy={history.isPending}
    >
      <h2 id="history-title">{t('history.title')}</h2>
      <p>{t('history.intro')}</p>
      {history.isPending ? <p className="status">{t('history.loading')}</p> : null}
      {history.isError ? (
        <ErrorMessage error={history.error} onRetry={() => void history.refetch()} />
      ) : null}
      {history.data && history.data.length === 0 ? <p>{t('history.empty')}</p> : null}
      {history.data && history.data.length > 0 ? (
        <div className="table-scroll">
          <table className="history-table">
            <caption className="visually-hidden">{t('history.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('history.when')}</th>
                <th scope="col">{t('history.outcome')}</th>
                <th scope="col">{t('history.method')}</th>
                <th scope="col">{t('history.device')}</th>
                <th scope="col">{t('history.network')}</th>
              </tr>
            </thead>
            <tbody>
              {history.data.map((entry) => (
                <tr
                  key={`${entry.at}-${entry.outcome}-${entry.network}`}
                  data-outcome={entry.outcome}
                >
                  <td>
                    <time dateTime={entry.at}>{formatFullDate(entry.at, locale)}</time>
                  </td>
                  <td>{outcomes[entry.outcome]}</td>
                  <td>{entry.method ? (methods[entry.method] ?? entry.method) : '–'}</td>
                  <td>{deviceLabel(entry.device, t)}</td>
                  <td>{entry.network ?? t('history.unknownNetwork')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
