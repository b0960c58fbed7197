import { useTranslation } from 'react-i18next';
import { useDocumentTitle } from '../components/DocumentTitle';
import { LoginMethodsSection } from '../components/settings/LoginMethodsSection';

/**
 * A temporary home for the login methods until the settings page (another part of issue 7)
 * renders LoginMethodsSection among its sections.
 */
export function LoginMethodsPage() {
  const { t } = useTranslation();
  useDocumentTitle(t('methods.pageTitle'));
  return (
    <div className="settings">
      <h1>{t('methods.pageTitle')}</h1>
      <LoginMethodsSection />
    </div>
  );
}
