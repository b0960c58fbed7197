import { useId } from 'react';
import { useTranslation } from 'react-i18next';

/** A new set of recovery codes, shown this once. */
export function RecoveryCodesList({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  const titleId = useId();
  return (
    <section className="callout recovery-codes" aria-labelledby={titleId}>
      <h4 id={titleId}>{t('methods.recovery.newTitle')}</h4>
      <p>{t('methods.recovery.newIntro')}</p>
      <ol className="code-list" aria-label={t('methods.recovery.listLabel')}>
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <button type="button" className="button button-secondary" onClick={onDone}>
        {t('methods.recovery.saved')}
      </button>
    </section>
  );
}
