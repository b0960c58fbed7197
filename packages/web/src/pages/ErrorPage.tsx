import { useTranslation } from 'react-i18next';
import { useDocumentTitle } from '../components/DocumentTitle';
import { LanguageSwitch } from '../components/LanguageSwitch';

/**
 * What the router shows when a page throws while rendering. It has its own light frame, since
 * the layout may be what failed, and says nothing technical.
 */
export function ErrorPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('error.title'));
  return (
    <>
      <a className="skip-link" href="#main">
        {t('skipLink')}
      </a>
      <header className="site-header">
        <div className="wrap site-header-inner">
          <a href="/" className="brand">
            <span className="brand-mark" aria-hidden="true" />
            <span className="brand-name">{t('app.name')}</span>
          </a>
          <div className="header-tools">
            <LanguageSwitch />
          </div>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="wrap site-main">
        <div className="message-page">
          <h1>{t('error.title')}</h1>
          <p>{t('error.body')}</p>
          <p>
            <a href="/" className="button button-secondary">
              {t('error.home')}
            </a>
          </p>
        </div>
      </main>
    </>
  );
}
