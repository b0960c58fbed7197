/** The three languages of promise 8. Bokmål is the default. */
export const languages = ['nb', 'nn', 'en'] as const;
export type Language = (typeof languages)[number];
export const defaultLanguage: Language = 'nb';

/** The language's own name, shown in the switch whatever the current language is. */
export const languageNames: Record<Language, string> = {
  nb: 'Bokmål',
  nn: 'Nynorsk',
  en: 'English',
};

/** The locale used for dates and numbers. */
export const locales: Record<Language, string> = {
  nb: 'nb-NO',
  nn: 'nn-NO',
  en: 'en-GB',
};

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (languages as readonly string[]).includes(value);
}

/**
 * Maps a BCP 47 tag from `navigator.languages` to one of ours. Norwegian without a written
 * standard (`no`, `no-NO`) is Bokmål, the standard most people write.
 */
export function languageFromTag(tag: string): Language | null {
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0];
  switch (primary) {
    case 'nb':
    case 'no':
      return 'nb';
    case 'nn':
      return 'nn';
    case 'en':
      return 'en';
    default:
      return null;
  }
}

/**
 * The language to start with: the one the user chose before (persisted), else the first of the
 * browser's preferred languages that we have, else Bokmål.
 */
export function initialLanguage(stored: string | null, preferred: readonly string[]): Language {
  if (isLanguage(stored)) return stored;
  for (const tag of preferred) {
    const language = languageFromTag(tag);
    if (language) return language;
  }
  return defaultLanguage;
}
