import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { isApiError } from '../../api';
import { type LoginMethods, loginMethodsApi, type TotpEnrolment } from './login-methods-api';
import { loginMethodsKey } from './PassphraseSection';
import { RecoveryCodesList } from './RecoveryCodesList';

/** The base32 key in groups of four, easier to type into an app by hand. */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/g, '$1 ');
}

/**
 * Set up or replace the authenticator app: a QR code (and the key and link as text), then a
 * first code to prove the app has it. Until then the old app keeps working.
 */
export function TotpSection({ methods }: { methods: LoginMethods }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const titleId = useId();
  const [enrolment, setEnrolment] = useState<TotpEnrolment | null>(null);
  const [code, setCode] = useState('');
  const [invalid, setInvalid] = useState(false);
  const [done, setDone] = useState(false);
  const codeInput = useRef<HTMLInputElement>(null);
  const [newCodes, setNewCodes] = useState<string[] | null>(null);

  const start = useMutation({
    mutationFn: () => loginMethodsApi.startTotp(),
    onSuccess: (result) => {
      setDone(false);
      setCode('');
      setEnrolment(result);
    },
  });
  const confirm = useMutation({
    mutationFn: (typed: string) => loginMethodsApi.confirmTotp(typed),
    onSuccess: async (result) => {
      setEnrolment(null);
      setDone(true);
      // The first enrolment hands out recovery codes, shown this once.
      if (result.recoveryCodes) setNewCodes(result.recoveryCodes);
      await queryClient.invalidateQueries({ queryKey: loginMethodsKey });
    },
    onError: () => setCode(''),
  });

  function onConfirm(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (confirm.isPending) return;
    const typed = code.replace(/\s+/g, '');
    const wrongShape = !/^\d{6}$/.test(typed);
    setInvalid(wrongShape);
    if (wrongShape) {
      codeInput.current?.focus();
      return;
    }
    confirm.reset();
    confirm.mutate(typed);
  }

  const confirmError =
    confirm.error && isApiError(confirm.error) && confirm.error.code === 'validation_failed'
      ? t('methods.totp.wrongCode')
      : confirm.error
        ? t('common.genericError')
        : '';

  return (
    <section className="method" id="authenticator" aria-labelledby={titleId}>
      <h3 id={titleId}>{t('methods.totp.title')}</h3>
      <p>{methods.totp.active ? t('methods.totp.active') : t('methods.totp.inactive')}</p>
      <div aria-live="polite" aria-atomic="true">
        {done ? <p className="callout callout-success">{t('methods.totp.enabled')}</p> : null}
      </div>
      {newCodes ? <RecoveryCodesList codes={newCodes} onDone={() => setNewCodes(null)} /> : null}
      {start.error ? <p className="form-error-text">{t('common.genericError')}</p> : null}

      {enrolment ? (
        <div className="enrolment">
          <p>{t('methods.totp.step1')}</p>
          <img
            className="qr-code"
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`}
            alt={t('methods.totp.qrAlt')}
            width={200}
            height={200}
          />
          <p>{t('methods.totp.step2')}</p>
          <p>
            <span className="visually-hidden">{t('methods.totp.secretLabel')}: </span>
            <code className="secret" data-testid="totp-secret">
              {grouped(enrolment.secret)}
            </code>
          </p>
          <details>
            <summary>{t('methods.totp.uriSummary')}</summary>
            <label htmlFor="otpauth-uri">{t('methods.totp.uriLabel')}</label>
            <input
              id="otpauth-uri"
              type="text"
              readOnly
              value={enrolment.otpauthUri}
              onFocus={(event) => event.target.select()}
            />
          </details>
          <form className="form" onSubmit={onConfirm} noValidate>
            <div className="field">
              <label htmlFor="totp-confirm">{t('methods.totp.code')}</label>
              <p id="totp-confirm-hint" className="hint">
                {t('methods.totp.step3')}
              </p>
              <input
                id="totp-confirm"
                ref={codeInput}
                className="input-code"
                type="text"
                inputMode="numeric"
                autoComplete="one-time-code"
                value={code}
                aria-invalid={invalid ? true : undefined}
                aria-describedby={`totp-confirm-hint${invalid || confirmError ? ' totp-confirm-error' : ''}`}
                onChange={(event) => setCode(event.target.value)}
              />
              <div id="totp-confirm-error" aria-live="assertive" aria-atomic="true">
                {invalid ? <p className="field-error">{t('methods.totp.invalidCode')}</p> : null}
                {!invalid && confirmError ? <p className="field-error">{confirmError}</p> : null}
              </div>
            </div>
            <div className="button-row">
              <button
                type="submit"
                className="button button-primary"
                aria-disabled={confirm.isPending}
              >
                {confirm.isPending ? t('methods.totp.confirming') : t('methods.totp.confirm')}
              </button>
              <button
                type="button"
                className="button button-quiet"
                onClick={() => setEnrolment(null)}
              >
                {t('methods.totp.cancel')}
              </button>
            </div>
          </form>
        </div>
      ) : (
        <>
          {methods.totp.active ? <p className="hint">{t('methods.totp.replaceNote')}</p> : null}
          <button
            type="button"
            className="button button-secondary"
            aria-disabled={start.isPending}
            onClick={() => !start.isPending && start.mutate()}
          >
            {methods.totp.active ? t('methods.totp.replace') : t('methods.totp.start')}
          </button>
        </>
      )}
    </section>
  );
}
