import { useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { useTranslation } from 'react-i18next';
import { ErrorMessage } from '../ErrorMessage';
import { loginMethodsApi } from './login-methods-api';
import { PasskeysSection } from './PasskeysSection';
import { loginMethodsKey, PassphraseSection } from './PassphraseSection';
import { RecoveryCodesSection } from './RecoveryCodesSection';
import { TotpSection } from './TotpSection';

/**
 * The login methods part of the security settings: passphrase,
 * authenticator app, recovery codes and passkeys. The settings page renders it.
 */
export function LoginMethodsSection() {
  const { t } = useTranslation();
  const titleId = useId();
  const methods = useQuery({ queryKey: loginMethodsKey, queryFn: () => loginMethodsApi.get() });

  return (
    <section className="settings-section" aria-labelledby={titleId}>
      <h2 id={titleId}>{t('methods.title')}</h2>
      <p className="lead">{t('methods.intro')}</p>
      {methods.isPending ? <p className="status">{t('methods.loading')}</p> : null}
      {methods.isError ? (
        <ErrorMessage error={methods.error} onRetry={() => void methods.refetch()} />
      ) : null}
      {methods.data ? (
        <>
          <PassphraseSection methods={methods.data} />
          <TotpSection methods={methods.data} />
          {methods.data.totp.active ? <RecoveryCodesSection methods={methods.data} /> : null}
          <PasskeysSection methods={methods.data} />
        </>
      ) : null}
    </section>
  );
}
