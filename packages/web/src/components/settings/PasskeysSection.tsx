import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { currentLocale } from '../../i18n';
import {
  isCeremonyCancelled,
  type LoginMethods,
  loginMethodsApi,
  type Passkey,
} from './login-methods-api';
import { loginMethodsKey } from './PassphraseSection';

function formatDate(iso: string): string {
  return new Intl.DateTimeFormat(currentLocale(), { dateStyle: 'medium' }).format(new Date(iso));
}

/** Register passkeys, see them, remove them. */
export function PasskeysSection({ methods }: { methods: LoginMethods }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const titleId = useId();
  const [name, setName] = useState('');
  const [status, setStatus] = useState('');
  const supported = browserSupportsWebAuthn();

  const add = useMutation({
    mutationFn: () => loginMethodsApi.registerPasskey(name),
    onSuccess: async (passkey) => {
      setName('');
      setStatus(t('passkeys.added', { name: passkey.name }));
      await queryClient.invalidateQueries({ queryKey: loginMethodsKey });
    },
    onError: () => setStatus(''),
  });

  function onAdd(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (add.isPending) return;
    setStatus('');
    add.reset();
    add.mutate();
  }

  const addError = add.error
    ? isCeremonyCancelled(add.error)
      ? t('passkeys.cancelled')
      : t('passkeys.failed')
    : '';

  return (
    <section className="method" id="passkeys" aria-labelledby={titleId}>
      <h3 id={titleId}>{t('passkeys.title')}</h3>
      <p>{t('passkeys.intro')}</p>
      <div aria-live="polite" aria-atomic="true">
        {status ? <p className="callout callout-success">{status}</p> : null}
      </div>
      <div aria-live="assertive" aria-atomic="true">
        {addError ? <p className="callout callout-error">{addError}</p> : null}
      </div>
      {methods.passkeys.length === 0 ? (
        <p>{t('passkeys.none')}</p>
      ) : (
        <ul className="passkey-list" aria-label={t('passkeys.listLabel')}>
          {methods.passkeys.map((passkey) => (
            <PasskeyItem key={passkey.id} passkey={passkey} onRemoved={setStatus} />
          ))}
        </ul>
      )}

      {supported ? (
        <form className="form" onSubmit={onAdd} noValidate>
          <div className="field">
            <label htmlFor="passkey-name">{t('passkeys.name')}</label>
            <p id="passkey-name-hint" className="hint">
              {t('passkeys.nameHint')}
            </p>
            <input
              id="passkey-name"
              type="text"
              maxLength={60}
              value={name}
              aria-describedby="passkey-name-hint"
              onChange={(event) => setName(event.target.value)}
            />
          </div>
          <button type="submit" className="button button-secondary" aria-disabled={add.isPending}>
            {add.isPending ? t('passkeys.adding') : t('passkeys.add')}
          </button>
        </form>
      ) : (
        <p className="hint">{t('passkeys.unsupported')}</p>
      )}
    </section>
  );
}

function PasskeyItem({
  passkey,
  onRemoved,
}: {
  passkey: Passkey;
  onRemoved: (message: string) => void;
}) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => loginMethodsApi.removePasskey(passkey.id),
    onSuccess: async () => {
      onRemoved(t('passkeys.removed', { name: passkey.name }));
      await queryClient.invalidateQueries({ queryKey: loginMethodsKey });
    },
  });

  return (
    <li className="passkey">
      <div>
        <strong>{passkey.name}</strong>
        <p className="hint">
          {t('passkeys.created', { date: formatDate(passkey.createdAt) })},{' '}
          {passkey.lastUsedAt
            ? t('passkeys.lastUsed', { date: formatDate(passkey.lastUsedAt) })
            : t('passkeys.neverUsed')}
          . {passkey.backedUp ? t('passkeys.synced') : t('passkeys.deviceBound')}.
        </p>
      </div>
      {remove.error ? <p className="form-error-text">{t('common.genericError')}</p> : null}
      {confirming ? (
        <div className="button-row">
          <p>{t('passkeys.removeQuestion', { name: passkey.name })}</p>
          <button
            type="button"
            className="button button-primary"
            aria-label={t('passkeys.confirmRemoveNamed', { name: passkey.name })}
            aria-disabled={remove.isPending}
            onClick={() => !remove.isPending && remove.mutate()}
          >
            {t('passkeys.confirmRemove')}
          </button>
          <button
            type="button"
            className="button button-quiet"
            onClick={() => setConfirming(false)}
          >
            {t('passkeys.cancelRemove')}
          </button>
        </div>
      ) : (
        <button
          type="button"
          className="button button-quiet"
          aria-label={t('passkeys.removeNamed', { name: passkey.name })}
          onClick={() => setConfirming(true)}
        >
          {t('passkeys.remove')}
        </button>
      )}
    </li>
  );
}
