import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';

/** Sets the tab's title, so that screen readers announce where a navigation went. */
export function useDocumentTitle(title: string | null | undefined): void {
  const { t } = useTranslation();
  const appName = t('app.name');
  useEffect(() => {
    document.title = title ? `${title} – ${appName}` : appName;
  }, [title, appName]);
}
