import { useTranslation } from 'react-i18next';
import { currentBrowserEnvironment, missingBrowserFeatures } from '../browser-support';

const missing = missingBrowserFeatures(currentBrowserEnvironment());

/** Promise 6: a browser too old to be safe gets a clear notice asking the user to upgrade. */
export function OutdatedBrowserNotice() {
  const { t } = useTranslation();
  if (missing.length === 0) return null;
  return (
    <section className="outdated-notice" aria-labelledby="outdated-title">
      <div className="wrap">
        <h2 id="outdated-title">{t('outdated.title')}</h2>
        <p>{t('outdated.body')}</p>
      </div>
    </section>
  );
}
