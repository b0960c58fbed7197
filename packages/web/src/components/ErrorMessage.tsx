import { useTranslation } from 'react-i18next';
import { clientErrorCodes, isApiError } from '../api';

/** A readable message for a failed request, with a way to try again. */
export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const offline = isApiError(error) && error.code === clientErrorCodes.network;
  return (
    <div className="callout callout-error" role="alert">
      <p>{offline ? t('common.networkError') : t('common.genericError')}</p>
      {onRetry ? (
        <button type="button" className="button button-secondary" onClick={onRetry}>
          {t('common.retry')}
        </button>
      ) : null}
    </div>
  );
}
