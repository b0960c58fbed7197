/**
 * Promise 6: a browser too old to be safe gets a clear notice asking the user to upgrade.
 *
 * The build targets Vite's "baseline widely available" browsers (Chrome/Edge 111+, Firefox
 * 114+, Safari 16.4+). Each feature below is one the app uses and that arrived in browsers of
 * roughly that age, so a browser missing any of them is both likely to break and likely to be
 * missing years of security fixes. Browsers too old to even run this code never reach it: they
 * see the static notice in index.html instead.
 */
export interface BrowserEnvironment {
  /** `typeof globalThis.structuredClone` and friends: passed in so the check is a pure function. */
  readonly structuredClone: string;
  readonly arrayAt: string;
  readonly arrayFindLast: string;
  readonly objectHasOwn: string;
  readonly resizeObserver: string;
  readonly abortController: string;
  readonly intlPluralRules: string;
  /** `CSS.supports`, or undefined when the browser has no CSS object at all. */
  readonly cssSupports: ((condition: string) => boolean) | undefined;
}

export type BrowserFeature =
  | 'structuredClone'
  | 'Array.prototype.at'
  | 'Array.prototype.findLast'
  | 'Object.hasOwn'
  | 'ResizeObserver'
  | 'AbortController'
  | 'Intl.PluralRules'
  | 'CSS :focus-visible'
  | 'CSS color-mix()';

/** The features this browser lacks; an empty list means it is fine. */
export function missingBrowserFeatures(env: BrowserEnvironment): BrowserFeature[] {
  const missing: BrowserFeature[] = [];
  if (env.structuredClone !== 'function') missing.push('structuredClone');
  if (env.arrayAt !== 'function') missing.push('Array.prototype.at');
  if (env.arrayFindLast !== 'function') missing.push('Array.prototype.findLast');
  if (env.objectHasOwn !== 'function') missing.push('Object.hasOwn');
  if (env.resizeObserver !== 'function') missing.push('ResizeObserver');
  if (env.abortController !== 'function') missing.push('AbortController');
  if (env.intlPluralRules !== 'function') missing.push('Intl.PluralRules');
  const supports = (condition: string): boolean => {
    try {
      return env.cssSupports?.(condition) ?? false;
    } catch {
      return false;
    }
  };
  if (!supports('selector(:focus-visible)')) missing.push('CSS :focus-visible');
  if (!supports('color: color-mix(in srgb, white, black)')) missing.push('CSS color-mix()');
  return missing;
}

/** Reads the environment of the running browser. */
export function currentBrowserEnvironment(): BrowserEnvironment {
  const g = globalThis as Record<string, unknown>;
  const css = g.CSS as { supports?: (condition: string) => boolean } | undefined;
  return {
    structuredClone: typeof g.structuredClone,
    arrayAt: typeof (Array.prototype as { at?: unknown }).at,
    arrayFindLast: typeof (Array.prototype as { findLast?: unknown }).findLast,
    objectHasOwn: typeof (Object as { hasOwn?: unknown }).hasOwn,
    resizeObserver: typeof g.ResizeObserver,
    abortController: typeof g.AbortController,
    intlPluralRules: typeof (g.Intl as { PluralRules?: unknown } | undefined)?.PluralRules,
    cssSupports: typeof css?.supports === 'function' ? css.supports.bind(css) : undefined,
  };
}
