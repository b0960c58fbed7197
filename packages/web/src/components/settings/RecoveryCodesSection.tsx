import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type LoginMethods, loginMethodsApi } from './login-methods-api';
import { loginMethodsKey } from './PassphraseSection';
import { RecoveryCodesList } from './RecoveryCodesList';

/** How many recovery codes are left, and a new set (which ends the old one) on request. */
export function RecoveryCodesSection({ methods }: { methods: LoginMethods }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const titleId = useId();
  const [confirming, setConfirming] = useState(false);
  const [codes, setCodes] = useState<string[] | null>(null);
  const regenerate = useMutation({
    mutationFn: () => loginMethodsApi.regenerateRecoveryCodes(),
    onSuccess: async (result) => {
      setConfirming(false);
      setCodes(result);
      await queryClient.invalidateQueries({ queryKey: loginMethodsKey });
    },
  });
  const unused = methods.recoveryCodes.unused;

  return (
    <section className="method" id="recovery-codes" aria-labelledby={titleId}>
      <h3 id={titleId}>{t('methods.recovery.title')}</h3>
      <p>{t('methods.recovery.intro')}</p>
      <p>
        {unused > 0 ? t('methods.recovery.unused', { count: unused }) : t('methods.recovery.none')}
      </p>
      {regenerate.error ? <p className="form-error-text">{t('common.genericError')}</p> : null}
      {codes ? <RecoveryCodesList codes={codes} onDone={() => setCodes(null)} /> : null}
      {confirming ? (
        <div className="callout" role="alertdialog" aria-labelledby={`${titleId}-warning`}>
          <p id={`${titleId}-warning`}>{t('methods.recovery.regenerateWarning')}</p>
          <div className="button-row">
            <button
              type="button"
              className="button button-primary"
              aria-disabled={regenerate.isPending}
              onClick={() => !regenerate.isPending && regenerate.mutate()}
            >
              {t('methods.recovery.confirmRegenerate')}
            </button>
            <button
              type="button"
              className="button button-quiet"
              onClick={() => setConfirming(false)}
            >
              {t('methods.recovery.cancel')}
            </button>
          </div>
        </div>
      ) : (
        <button
          type="button"
          className="button button-secondary"
          onClick={() => setConfirming(true)}
        >
          {t('methods.recovery.regenerate')}
        </button>
      )}
    </section>
  );
}
