/**
 * Assurance levels of a session, lowest first. A passphrase with a second factor (TOTP, a
 * recovery code) or a passkey gives `two-factor`; eID gives the level ID-porten vouched for
 * (eIDAS substantial or high). A letter may demand a level; a session below it must step up.
 */
export const authLevels = ['two-factor', 'eid-substantial', 'eid-high'] as const;
export type AuthLevel = (typeof authLevels)[number];

/** The eID levels, the only ones a step-up can ask for. */
export type EidLevel = Extract<AuthLevel, 'eid-substantial' | 'eid-high'>;

export function isAuthLevel(value: unknown): value is AuthLevel {
  return (authLevels as readonly unknown[]).includes(value);
}

/**
 * The level of a stored session. Sessions made before levels had names say `password+totp`;
 * anything unknown counts as the lowest level, never higher.
 */
export function parseAuthLevel(stored: string): AuthLevel {
  return isAuthLevel(stored) ? stored : 'two-factor';
}

/** True when a session at `have` may do what needs `need`. */
export function meetsLevel(have: AuthLevel, need: AuthLevel): boolean {
  return authLevels.indexOf(have) >= authLevels.indexOf(need);
}

/** ID-porten's `acr` values (since 2023) for each eID level. */
const acrOfLevel = {
  'eid-substantial': 'idporten-loa-substantial',
  'eid-high': 'idporten-loa-high',
} as const satisfies Record<EidLevel, string>;

export function acrFor(level: EidLevel): string {
  return acrOfLevel[level];
}

/** The level an `acr` from the provider stands for; undefined for anything else. */
export function levelOfAcr(acr: unknown): EidLevel | undefined {
  if (acr === acrOfLevel['eid-high']) return 'eid-high';
  if (acr === acrOfLevel['eid-substantial']) return 'eid-substantial';
  return undefined;
}
