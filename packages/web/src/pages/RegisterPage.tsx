import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api, isApiError } from '../api';
import { useDocumentTitle } from '../components/DocumentTitle';
import { ErrorMessage } from '../components/ErrorMessage';
import { applyMailboxLanguage, currentLanguage } from '../i18n';
import { isLanguage, type Language } from '../i18n/languages';
import { queryKeys } from '../queries';

/**
 * Registration after a first eID login: the terms (accepted with their version), the language,
 * then the notification addresses, each confirmed with a code before it is used.
 */
export function RegisterPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('register.title'));
  const queryClient = useQueryClient();
  const registration = useQuery({
    queryKey: ['registration'],
    queryFn: ({ signal }) => api.getRegistration(signal),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const [registered, setRegistered] = useState(false);
  const [accepted, setAccepted] = useState(false);
  const [language, setLanguage] = useState<Language>(currentLanguage());
  const accept = useMutation({
    mutationFn: () =>
      api.register({ termsVersion: registration.data?.termsVersion ?? '', language }),
    onSuccess: async (session) => {
      queryClient.setQueryData(queryKeys.session, session);
      await applyMailboxLanguage(session.mailbox.language);
      setRegistered(true);
    },
  });

  if (registered) return <ContactStep />;
  if (registration.isPending) return <p className="status">{t('register.loading')}</p>;
  if (registration.isError) return <ErrorMessage error={registration.error} />;
  if (!registration.data) {
    return (
      <div className="message-page">
        <h1>{t('register.none.title')}</h1>
        <p>{t('register.none.body')}</p>
        <p>
          <Link to="/login" className="button">
            {t('register.none.login')}
          </Link>
        </p>
      </div>
    );
  }
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (accepted) accept.mutate();
  };
  return (
    <div className="register">
      <h1>{t('register.title')}</h1>
      <p className="lead">{t('register.intro')}</p>
      <section className="card terms" aria-labelledby="terms-title">
        <h2 id="terms-title">{t('register.terms.title')}</h2>
        <p>{t('register.terms.what')}</p>
        <p>{t('register.terms.privacy')}</p>
        <p>{t('register.terms.senders')}</p>
        <p className="hint">
          {t('register.terms.version', { version: registration.data.termsVersion })}
        </p>
      </section>
      <form className="card form" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor="register-language">{t('register.language')}</label>
          <select
            id="register-language"
            value={language}
            onChange={(event) => {
              if (isLanguage(event.target.value)) setLanguage(event.target.value);
            }}
          >
            <option value="nb">Norsk bokmål</option>
            <option value="nn">Norsk nynorsk</option>
            <option value="en">English</option>
          </select>
        </div>
        <div className="field field-checkbox">
          <input
            id="accept-terms"
            type="checkbox"
            checked={accepted}
            onChange={(event) => setAccepted(event.target.checked)}
          />
          <label htmlFor="accept-terms">{t('register.accept')}</label>
        </div>
        {accept.isError ? <ErrorMessage error={accept.error} /> : null}
        <button type="submit" className="button" disabled={!accepted || accept.isPending}>
          {t('register.open')}
        </button>
      </form>
    </div>
  );
}

function ContactStep() {
  const { t } = useTranslation();
  return (
    <div className="register">
      <h1>{t('register.contact.title')}</h1>
      <p className="lead">{t('register.contact.intro')}</p>
      <AddressForm channel="email" />
      <AddressForm channel="phone" />
      <p>
        <Link to="/" className="button button-secondary">
          {t('register.contact.done')}
        </Link>
      </p>
    </div>
  );
}

function AddressForm({ channel }: { channel: 'email' | 'phone' }) {
  const { t } = useTranslation();
  const [address, setAddress] = useState('');
  const [code, setCode] = useState('');
  const [sent, setSent] = useState(false);
  const [verified, setVerified] = useState(false);
  const send = useMutation({
    mutationFn: () => api.requestContactCode(channel, address),
    onSuccess: () => setSent(true),
  });
  const verify = useMutation({
    mutationFn: () => api.verifyContactCode(channel, code),
    onSuccess: () => setVerified(true),
  });
  const id = `contact-${channel}`;
  const text =
    channel === 'email'
      ? {
          title: t('register.contact.email.title'),
          label: t('register.contact.email.label'),
          hint: t('register.contact.email.hint'),
          sent: t('register.contact.email.sent'),
          verified: t('register.contact.email.verified', { address }),
        }
      : {
          title: t('register.contact.phone.title'),
          label: t('register.contact.phone.label'),
          hint: t('register.contact.phone.hint'),
          sent: t('register.contact.phone.sent'),
          verified: t('register.contact.phone.verified', { address }),
        };
  if (verified) {
    return (
      <p className="card" role="status" data-testid={`${channel}-verified`}>
        {text.verified}
      </p>
    );
  }
  return (
    <section className="card form" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{text.title}</h2>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          send.mutate();
        }}
      >
        <div className="field">
          <label htmlFor={id}>{text.label}</label>
          <p id={`${id}-hint`} className="hint">
            {text.hint}
          </p>
          <input
            id={id}
            type={channel === 'email' ? 'email' : 'tel'}
            autoComplete={channel === 'email' ? 'email' : 'tel'}
            value={address}
            onChange={(event) => setAddress(event.target.value)}
            aria-describedby={`${id}-hint`}
          />
        </div>
        {send.isError ? <ErrorMessage error={send.error} /> : null}
        <button type="submit" className="button button-secondary" disabled={send.isPending}>
          {t('register.contact.send')}
        </button>
      </form>
      {sent ? (
        <form
          onSubmit={(event) => {
            event.preventDefault();
            verify.mutate();
          }}
        >
          <p role="status">{text.sent}</p>
          <div className="field">
            <label htmlFor={`${id}-code`}>{t('register.contact.code')}</label>
            <input
              id={`${id}-code`}
              inputMode="numeric"
              autoComplete="one-time-code"
              value={code}
              onChange={(event) => setCode(event.target.value)}
            />
          </div>
          {verify.isError ? (
            <p className="field-error" role="alert">
              {isApiError(verify.error) && verify.error.status === 422
                ? t('register.contact.wrongCode')
                : verify.error.message}
            </p>
          ) : null}
          <button type="submit" className="button" disabled={verify.isPending}>
            {t('register.contact.verify')}
          </button>
        </form>
      ) : null}
    </section>
  );
}
