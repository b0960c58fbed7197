import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useLocation } from 'react-router';
import { useDocumentTitle } from '../components/DocumentTitle';
import { AntiPhishingSection } from '../components/settings/AntiPhishingSection';
import { LoginHistorySection } from '../components/settings/LoginHistorySection';
import { LoginMethodsSection } from '../components/settings/LoginMethodsSection';
import { SessionsSection } from '../components/settings/SessionsSection';

/**
 * Security settings: login methods, where the person is logged in, recent
 * logins, and the anti-phishing phrase. Each section is its own component and fetches its own
 * data, so one failing does not hide the others.
 */
export function SettingsPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('settings.title'));
  const headingRef = useRef<HTMLHeadingElement>(null);
  const location = useLocation();

  // After moving here within the app, the heading takes focus, so a screen reader starts at
  // the top of the new page. Not on the first load of the document: the skip link comes first.
  useEffect(() => {
    if (location.key !== 'default') headingRef.current?.focus();
  }, [location.key]);

  return (
    <div className="settings">
      <div className="page-heading">
        <h1 id="settings-title" ref={headingRef} tabIndex={-1}>
          {t('settings.title')}
        </h1>
      </div>
      <p className="lead">{t('settings.intro')}</p>
      <LoginMethodsSection />
      <SessionsSection />
      <LoginHistorySection />
      <AntiPhishingSection />
    </div>
  );
}
