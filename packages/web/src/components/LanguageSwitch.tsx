import { useTranslation } from 'react-i18next';
import { chooseLanguage, currentLanguage } from '../i18n';
import { isLanguage, languageNames, languages } from '../i18n/languages';

/** Promise 8: a language switch on every page, with a visible label. */
export function LanguageSwitch() {
  const { t } = useTranslation();
  const language = currentLanguage();
  return (
    <div className="language-switch">
      <label htmlFor="language">{t('language.label')}</label>
      <select
        id="language"
        value={language}
        onChange={(event) => {
          const next = event.target.value;
          if (isLanguage(next)) void chooseLanguage(next);
        }}
      >
        {languages.map((code) => (
          <option key={code} value={code} lang={code}>
            {languageNames[code]}
          </option>
        ))}
      </select>
    </div>
  );
}
