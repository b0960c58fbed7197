import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useCallback, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { isApiError } from '../../api';
import { eidPassphraseResetUrl, type LoginMethods, loginMethodsApi } from './login-methods-api';
import { PassphraseStrength } from './PassphraseStrength';
import type { PassphraseEstimate } from './passphrase-strength';
import { passphraseMinLength } from './passphrase-strength';

export const loginMethodsKey = ['login-methods'] as const;

/**
 * Set or change the passphrase. The first one needs an eID session; a change needs the current
 * passphrase unless the session logged in with eID (which is also how a forgotten one is reset).
 */
export function PassphraseSection({ methods }: { methods: LoginMethods }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const titleId = useId();
  const [current, setCurrent] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [show, setShow] = useState(false);
  const newInput = useRef<HTMLInputElement>(null);
  const currentInput = useRef<HTMLInputElement>(null);
  const [estimate, setEstimate] = useState<PassphraseEstimate | null>(null);
  const onEstimate = useCallback((next: PassphraseEstimate | null) => setEstimate(next), []);
  const needsCurrent = methods.passphrase.set && !methods.canSetPassphraseWithoutCurrent;

  const save = useMutation({
    mutationFn: () =>
      loginMethodsApi.setPassphrase({ passphrase, ...(needsCurrent ? { current } : {}) }),
    onSuccess: async () => {
      setCurrent('');
      setPassphrase('');
      await queryClient.invalidateQueries({ queryKey: loginMethodsKey });
    },
  });

  if (!methods.passphrase.set && !methods.canSetPassphraseWithoutCurrent) {
    return (
      <section className="method" id="passphrase" aria-labelledby={titleId}>
        <h3 id={titleId}>{t('passphrase.title')}</h3>
        <p>{t('passphrase.notSet')}</p>
        <p>{t('passphrase.needsEid')}</p>
        <a className="button button-secondary" href={eidPassphraseResetUrl}>
          {t('passphrase.eidLink')}
        </a>
      </section>
    );
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (save.isPending) return;
    // The server checks again; this only spares a round trip for what is already known.
    if (needsCurrent && current === '') {
      currentInput.current?.focus();
      return;
    }
    if (estimate?.problem || passphrase === '') {
      // The strength text beside the field says why.
      newInput.current?.focus();
      return;
    }
    save.reset();
    save.mutate();
  }

  const error = save.error;
  const errorText = (() => {
    if (!error) return '';
    if (!isApiError(error)) return t('passphrase.errors.generic');
    if (error.code === 'validation_failed') return t('passphrase.errors.weak');
    if (error.code === 'rate_limited') return t('passphrase.errors.rateLimited');
    if (error.code === 'forbidden') {
      return methods.passphrase.set
        ? t('passphrase.errors.currentWrong')
        : t('passphrase.errors.needsEid');
    }
    return t('passphrase.errors.generic');
  })();
  const saved = save.data
    ? save.data.otherSessionsEnded > 0
      ? t('passphrase.savedOthersEnded', { count: save.data.otherSessionsEnded })
      : t('passphrase.saved')
    : '';

  return (
    <section className="method" id="passphrase" aria-labelledby={titleId}>
      <h3 id={titleId}>{t('passphrase.title')}</h3>
      <p>{methods.passphrase.set ? t('passphrase.set') : t('passphrase.notSet')}</p>
      {methods.canSetPassphraseWithoutCurrent ? <p>{t('passphrase.eidSession')}</p> : null}

      <div className="guidance">
        <h4>{t('passphrase.guidanceTitle')}</h4>
        <p>{t('passphrase.guidance')}</p>
      </div>

      {/* Outside the form's grid, so the empty live regions take no room. */}
      <div aria-live="polite" aria-atomic="true">
        {saved ? <p className="callout callout-success">{saved}</p> : null}
      </div>
      <div aria-live="assertive" aria-atomic="true">
        {errorText ? <p className="callout callout-error">{errorText}</p> : null}
      </div>
      <form className="form" onSubmit={onSubmit} noValidate>
        {needsCurrent ? (
          <div className="field">
            <label htmlFor="current-passphrase">{t('passphrase.current')}</label>
            <input
              id="current-passphrase"
              ref={currentInput}
              type={show ? 'text' : 'password'}
              autoComplete="current-password"
              spellCheck={false}
              autoCapitalize="off"
              value={current}
              onChange={(event) => setCurrent(event.target.value)}
            />
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="new-passphrase">{t('passphrase.new')}</label>
          <p id="new-passphrase-hint" className="hint">
            {t('passphrase.minLength', { count: passphraseMinLength })}
          </p>
          <input
            id="new-passphrase"
            ref={newInput}
            type={show ? 'text' : 'password'}
            autoComplete="new-password"
            spellCheck={false}
            autoCapitalize="off"
            value={passphrase}
            aria-describedby="new-passphrase-hint new-passphrase-strength"
            aria-invalid={estimate?.problem ? true : undefined}
            onChange={(event) => setPassphrase(event.target.value)}
          />
          <PassphraseStrength
            id="new-passphrase-strength"
            passphrase={passphrase}
            userInputs={[]}
            onEstimate={onEstimate}
          />
          <div className="checkbox">
            <input
              id="show-passphrases"
              type="checkbox"
              checked={show}
              onChange={(event) => setShow(event.target.checked)}
            />
            <label htmlFor="show-passphrases">{t('passphrase.show')}</label>
          </div>
        </div>
        <button type="submit" className="button button-primary" aria-disabled={save.isPending}>
          {save.isPending
            ? t('passphrase.submitting')
            : methods.passphrase.set
              ? t('passphrase.submitChange')
              : t('passphrase.submitSet')}
        </button>
      </form>
      {needsCurrent ? (
        <p className="hint">
          <a href={eidPassphraseResetUrl}>{t('passphrase.forgot')}</a>
        </p>
      ) : null}
    </section>
  );
}
