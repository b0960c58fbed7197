import { useTranslation } from 'react-i18next';
import { Navigate, Outlet, useLocation } from 'react-router';
import { useSession } from '../queries';
import { loginPath } from '../return-to';
import { ErrorMessage } from './ErrorMessage';

/** Letters open only after login (promise 1): without a session, go to login and come back. */
export function RequireSession() {
  const { t } = useTranslation();
  const session = useSession();
  const location = useLocation();

  if (session.isPending) return <p className="status">{t('common.loading')}</p>;
  if (session.isError) {
    return <ErrorMessage error={session.error} onRetry={() => void session.refetch()} />;
  }
  if (!session.data) {
    return <Navigate to={loginPath(`${location.pathname}${location.search}`)} replace />;
  }
  return <Outlet />;
}
