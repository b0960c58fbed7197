import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api';
import { clearSessionData } from '../queries';

export function LogoutButton() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const logout = useMutation({
    mutationFn: () => api.logout(),
    onSuccess: async () => {
      clearSessionData(queryClient);
      queryClient.removeQueries({ predicate: (query) => query.queryKey[0] !== 'session' });
      await navigate('/login', { replace: true });
    },
  });
  return (
    <div className="logout">
      <button
        type="button"
        className="button button-quiet"
        onClick={() => logout.mutate()}
        disabled={logout.isPending}
      >
        {logout.isPending ? t('header.loggingOut') : t('header.logout')}
      </button>
      <span className="logout-error" aria-live="assertive">
        {logout.isError ? t('header.logoutFailed') : ''}
      </span>
    </div>
  );
}
