import { useTranslation } from 'react-i18next';

/**
 * Placeholder until the login-factors work lands: it names the one method there is today
 * (passphrase and TOTP). The factors engineer replaces this file with the real section
 * (passphrase, TOTP, recovery codes, passkeys).
 */
export function LoginMethodsSection() {
  const { t } = useTranslation();
  return (
    <section className="settings-section" aria-labelledby="methods-title">
      <h2 id="methods-title">{t('settings.methods.title')}</h2>
      <ul className="settings-list">
        <li>{t('settings.methods.passphraseTotp')}</li>
      </ul>
    </section>
  );
}
