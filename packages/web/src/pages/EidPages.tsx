import { useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useDocumentTitle } from '../components/DocumentTitle';
import { eidLoginUrl } from '../eid';
import { queryKeys } from '../queries';
import { safeReturnTo } from '../return-to';

/**
 * After a successful eID login or step-up the server sends the browser here: forget what was
 * cached for the old session and go on to the return path, checked again before it is followed.
 */
export function EidDonePage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  useDocumentTitle(t('eid.done'));
  const target = safeReturnTo(params.get('returnTo'));
  useEffect(() => {
    queryClient.removeQueries();
    void queryClient
      .invalidateQueries({ queryKey: queryKeys.session })
      .then(() => navigate(target, { replace: true }));
  }, [queryClient, navigate, target]);
  return <p className="status">{t('eid.done')}</p>;
}

/** One page for every refused eID login: what to do next, and a reference for support. */
export function EidRefusedPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  useDocumentTitle(t('eid.refused.title'));
  const reference = params.get('ref');
  return (
    <div className="message-page">
      <h1>{t('eid.refused.title')}</h1>
      <p>{t('eid.refused.body')}</p>
      <p>
        <a className="button" href={eidLoginUrl({ level: 'eid-substantial' })}>
          {t('eid.refused.retry')}
        </a>{' '}
        <Link to="/login" className="button button-secondary">
          {t('eid.refused.otherWays')}
        </Link>
      </p>
      {reference && /^[0-9a-f-]{36}$/.test(reference) ? (
        <p className="hint">{t('eid.refused.reference', { reference })}</p>
      ) : null}
    </div>
  );
}

/** The eID button for the login page. */
export function EidLoginButton({ returnTo }: { returnTo?: string | undefined }) {
  const { t } = useTranslation();
  return (
    <section className="card eid-login" aria-labelledby="eid-login-title">
      <h2 id="eid-login-title">{t('eid.login.title')}</h2>
      <p>{t('eid.login.intro')}</p>
      <a className="button" href={eidLoginUrl({ level: 'eid-substantial', returnTo })}>
        {t('eid.login.button')}
      </a>
    </section>
  );
}

/** Shown instead of a letter that needs a stronger login than this session has. */
export function StepUpNotice({
  letterId,
  level,
}: {
  letterId: string;
  level: 'eid-substantial' | 'eid-high';
}) {
  const { t } = useTranslation();
  return (
    <div className="message-page" data-testid="step-up">
      <h1>{t('stepUp.title')}</h1>
      <p>{level === 'eid-high' ? t('stepUp.bodyHigh') : t('stepUp.bodySubstantial')}</p>
      <p>
        <a
          className="button"
          href={eidLoginUrl({
            level,
            stepUp: true,
            returnTo: `/letters/${encodeURIComponent(letterId)}`,
          })}
        >
          {t('stepUp.button')}
        </a>
      </p>
    </div>
  );
}
