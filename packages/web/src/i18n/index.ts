import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import en from './en.json';
import { initialLanguage, isLanguage, type Language, locales } from './languages';
import nb from './nb.json';
import nn from './nn.json';

declare module 'i18next' {
  interface CustomTypeOptions {
    defaultNS: 'translation';
    // Keys are checked against Bokmål at compile time; catalogues.test.ts keeps the others whole.
    resources: { translation: typeof nb };
  }
}

const storageKey = 'kuvert.language';

/** The language the user picked in the switch, if any (promise 8: persisted). */
export function chosenLanguage(): Language | null {
  try {
    const stored = localStorage.getItem(storageKey);
    return isLanguage(stored) ? stored : null;
  } catch {
    return null; // storage blocked: behave as if nothing was chosen
  }
}

function applyToDocument(language: Language): void {
  document.documentElement.lang = language;
}

export function currentLanguage(): Language {
  const language = i18next.resolvedLanguage ?? i18next.language;
  return isLanguage(language) ? language : 'nb';
}

export function currentLocale(): string {
  return locales[currentLanguage()];
}

/** The user picked a language in the switch: use it and remember it. */
export async function chooseLanguage(language: Language): Promise<void> {
  try {
    localStorage.setItem(storageKey, language);
  } catch {
    // Private mode or blocked storage: the choice lasts for this page only.
  }
  await i18next.changeLanguage(language);
}

/** After login: the mailbox's language, unless the user has picked one in the switch. */
export async function applyMailboxLanguage(language: Language): Promise<void> {
  if (chosenLanguage() === null && currentLanguage() !== language) {
    await i18next.changeLanguage(language);
  }
}

export function setUpI18n(): typeof i18next {
  const language = initialLanguage(chosenLanguage(), navigator.languages ?? [navigator.language]);
  i18next.on('languageChanged', (lng) => {
    if (isLanguage(lng)) applyToDocument(lng);
  });
  void i18next.use(initReactI18next).init({
    resources: {
      nb: { translation: nb },
      nn: { translation: nn },
      en: { translation: en },
    },
    lng: language,
    fallbackLng: 'nb',
    supportedLngs: ['nb', 'nn', 'en'],
    interpolation: { escapeValue: false }, // React escapes
    initAsync: false,
    returnNull: false,
  });
  applyToDocument(language);
  return i18next;
}
