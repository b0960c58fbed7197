import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import {
  api,
  clientErrorCodes,
  isApiError,
  type LoginInput,
  type RecoveryLoginInput,
  type Session,
} from '../api';
import { useDocumentTitle } from '../components/DocumentTitle';
import {
  eidPassphraseResetUrl,
  isCeremonyCancelled,
  loginMethodsApi,
} from '../components/settings/login-methods-api';
import { applyMailboxLanguage } from '../i18n';
import { queryKeys, useSession } from '../queries';
import { safeReturnTo } from '../return-to';
import { EidLoginButton } from './EidPages';
import { isRecoveryCodeShaped, type LoginField, normaliseLogin, validateLogin } from './login-form';

export function LoginPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('login.title'));
  const session = useSession();
  const [params] = useSearchParams();
  const returnTo = safeReturnTo(params.get('returnTo'));
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  const [values, setValues] = useState<LoginInput>({ nationalId: '', password: '', totp: '' });
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<LoginField, true>>>({});
  const [showPassword, setShowPassword] = useState(false);
  const refs = {
    nationalId: useRef<HTMLInputElement>(null),
    password: useRef<HTMLInputElement>(null),
    totp: useRef<HTMLInputElement>(null),
  };
  const errorId = useId();
  // A recovery code instead of the authenticator code, when the phone is lost.
  const [useRecovery, setUseRecovery] = useState(false);
  const [recoveryCode, setRecoveryCode] = useState('');
  const [recoveryInvalid, setRecoveryInvalid] = useState(false);
  const recoveryRef = useRef<HTMLInputElement>(null);
  const passkeysSupported = browserSupportsWebAuthn();

  async function enter(result: Session) {
    await applyMailboxLanguage(result.mailbox.language);
    queryClient.setQueryData(queryKeys.session, result);
    await navigate(returnTo, { replace: true, state: { focusMain: true } });
  }

  const login = useMutation({
    mutationFn: (input: LoginInput | RecoveryLoginInput) => api.login(input),
    onSuccess: enter,
    onError: () => {
      // The code is spent or wrong either way; the other fields stay for another try.
      setValues((current) => ({ ...current, totp: '' }));
      setRecoveryCode('');
    },
  });
  const passkeyLogin = useMutation({
    mutationFn: () => loginMethodsApi.logInWithPasskey(),
    onSuccess: enter,
  });

  if (session.data && !login.isPending && !passkeyLogin.isPending)
    return <Navigate to={returnTo} replace />;

  function switchSecondFactor() {
    const next = !useRecovery;
    setUseRecovery(next);
    setFieldErrors(({ totp: _cleared, ...rest }) => rest);
    setRecoveryInvalid(false);
    // The field that replaced the other one gets the focus, after it is rendered.
    setTimeout(() => (next ? recoveryRef.current : refs.totp.current)?.focus(), 0);
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    if (login.isPending) return;
    const input = normaliseLogin(values);
    const invalid = validateLogin(input).filter((field) => !(useRecovery && field === 'totp'));
    const recoveryBad = useRecovery && !isRecoveryCodeShaped(recoveryCode);
    setFieldErrors(Object.fromEntries(invalid.map((field) => [field, true])));
    setRecoveryInvalid(recoveryBad);
    const first = invalid[0];
    if (first) {
      refs[first].current?.focus();
      return;
    }
    if (recoveryBad) {
      recoveryRef.current?.focus();
      return;
    }
    login.reset();
    login.mutate(
      useRecovery
        ? {
            nationalId: input.nationalId,
            password: input.password,
            recoveryCode: recoveryCode.trim(),
          }
        : input,
    );
  }

  function passkeyError(): string {
    const error = passkeyLogin.error;
    if (!error) return '';
    if (isCeremonyCancelled(error)) return t('methods.login.passkeyCancelled');
    if (isApiError(error) && error.code === clientErrorCodes.network)
      return t('login.errors.network');
    return t('methods.login.passkeyFailed');
  }

  function formError(): string {
    const error = login.error;
    if (!error) return '';
    if (!isApiError(error)) return t('login.errors.generic');
    switch (error.code) {
      case 'login_failed':
        return t('login.errors.loginFailed');
      case 'rate_limited':
        // The server says how long; "a few minutes" would be wrong for 30 seconds.
        return error.retryAfter !== undefined
          ? t('sessions.retryAfter', { count: error.retryAfter })
          : t('login.errors.rateLimited');
      case 'validation_failed':
      case 'invalid_national_id':
        return t('login.errors.validation');
      case clientErrorCodes.network:
        return t('login.errors.network');
      default:
        return t('login.errors.generic');
    }
  }

  const message = formError();
  const field = (name: LoginField) => ({
    id: name === 'nationalId' ? 'national-id' : name,
    name,
    ref: refs[name],
    value: values[name],
    onChange: (event: { target: { value: string } }) =>
      setValues((current) => ({ ...current, [name]: event.target.value })),
    'aria-invalid': fieldErrors[name] ? true : undefined,
  });

  return (
    <div className="login">
      <h1>{t('login.title')}</h1>
      <p className="lead">{t('login.intro')}</p>

      <EidLoginButton returnTo={returnTo} />

      <form className="card form" onSubmit={onSubmit} noValidate aria-describedby={errorId}>
        <div id={errorId} className="form-error" aria-live="assertive" aria-atomic="true">
          {message ? <p>{message}</p> : null}
        </div>

        <div className="field">
          <label htmlFor="national-id">{t('login.nationalId')}</label>
          <p id="national-id-hint" className="hint">
            {t('login.nationalIdHint')}
          </p>
          <input
            {...field('nationalId')}
            type="text"
            inputMode="numeric"
            autoComplete="username"
            spellCheck={false}
            aria-describedby={`national-id-hint${fieldErrors.nationalId ? ' national-id-error' : ''}`}
          />
          {fieldErrors.nationalId ? (
            <p id="national-id-error" className="field-error">
              {t('login.invalid.nationalId')}
            </p>
          ) : null}
        </div>

        <div className="field">
          <label htmlFor="password">{t('login.password')}</label>
          <input
            {...field('password')}
            type={showPassword ? 'text' : 'password'}
            autoComplete="current-password"
            spellCheck={false}
            autoCapitalize="off"
            aria-describedby={fieldErrors.password ? 'password-error' : undefined}
          />
          {fieldErrors.password ? (
            <p id="password-error" className="field-error">
              {t('login.invalid.password')}
            </p>
          ) : null}
          <div className="checkbox">
            <input
              id="show-password"
              type="checkbox"
              checked={showPassword}
              onChange={(event) => setShowPassword(event.target.checked)}
            />
            <label htmlFor="show-password">{t('login.showPassword')}</label>
          </div>
          <p className="hint">
            <a href={eidPassphraseResetUrl}>{t('methods.login.forgot')}</a>{' '}
            {t('methods.login.forgotHint')}
          </p>
        </div>

        {useRecovery ? (
          <div className="field">
            <label htmlFor="recovery-code">{t('methods.login.recoveryCode')}</label>
            <p id="recovery-code-hint" className="hint">
              {t('methods.login.recoveryCodeHint')}
            </p>
            <input
              id="recovery-code"
              name="recoveryCode"
              ref={recoveryRef}
              className="input-recovery"
              type="text"
              autoComplete="off"
              spellCheck={false}
              autoCapitalize="off"
              value={recoveryCode}
              onChange={(event) => setRecoveryCode(event.target.value)}
              aria-invalid={recoveryInvalid ? true : undefined}
              aria-describedby={`recovery-code-hint${recoveryInvalid ? ' recovery-code-error' : ''}`}
            />
            {recoveryInvalid ? (
              <p id="recovery-code-error" className="field-error">
                {t('methods.login.invalidRecoveryCode')}
              </p>
            ) : null}
          </div>
        ) : (
          <div className="field">
            <label htmlFor="totp">{t('login.totp')}</label>
            <p id="totp-hint" className="hint">
              {t('login.totpHint')}
            </p>
            <input
              {...field('totp')}
              className="input-code"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              spellCheck={false}
              aria-describedby={`totp-hint${fieldErrors.totp ? ' totp-error' : ''}`}
            />
            {fieldErrors.totp ? (
              <p id="totp-error" className="field-error">
                {t('login.invalid.totp')}
              </p>
            ) : null}
          </div>
        )}
        <button
          type="button"
          className="button button-quiet link-button"
          onClick={switchSecondFactor}
        >
          {useRecovery ? t('methods.login.totpInstead') : t('methods.login.recoveryInstead')}
        </button>

        <button type="submit" className="button button-primary" aria-disabled={login.isPending}>
          {login.isPending ? t('login.submitting') : t('login.submit')}
        </button>
      </form>

      <div className="card passkey-login">
        <p className="or-divider">{t('methods.login.or')}</p>
        {passkeysSupported ? null : <p className="hint">{t('methods.login.passkeyUnsupported')}</p>}
        <button
          hidden={!passkeysSupported}
          type="button"
          className="button button-secondary"
          aria-disabled={passkeyLogin.isPending}
          aria-describedby="passkey-login-hint"
          onClick={() => {
            if (passkeyLogin.isPending) return;
            passkeyLogin.reset();
            passkeyLogin.mutate();
          }}
        >
          {passkeyLogin.isPending
            ? t('methods.login.passkeyWorking')
            : t('methods.login.passkeyButton')}
        </button>
        <p id="passkey-login-hint" className="hint">
          {t('methods.login.passkeyHint')}
        </p>
        <div aria-live="assertive" aria-atomic="true">
          {passkeyError() ? <p className="form-error-text">{passkeyError()}</p> : null}
        </div>
      </div>

      <aside className="safety-note" aria-labelledby="safety-title">
        <h2 id="safety-title">{t('login.safety.title')}</h2>
        <p>{t('login.safety.body', { origin: window.location.origin })}</p>
      </aside>
    </div>
  );
}
