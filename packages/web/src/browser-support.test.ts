import { describe, expect, it } from 'vitest';
import { type BrowserEnvironment, missingBrowserFeatures } from './browser-support';

const modern: BrowserEnvironment = {
  structuredClone: 'function',
  arrayAt: 'function',
  arrayFindLast: 'function',
  objectHasOwn: 'function',
  resizeObserver: 'function',
  abortController: 'function',
  intlPluralRules: 'function',
  cssSupports: () => true,
};

describe('missingBrowserFeatures (promise 6: outdated browsers get a notice)', () => {
  it('finds nothing missing in a current browser', () => {
    expect(missingBrowserFeatures(modern)).toEqual([]);
  });

  it('reports a browser without structuredClone', () => {
    expect(missingBrowserFeatures({ ...modern, structuredClone: 'undefined' })).toEqual([
      'structuredClone',
    ]);
  });

  it('reports a browser without Array.prototype.at', () => {
    expect(missingBrowserFeatures({ ...modern, arrayAt: 'undefined' })).toEqual([
      'Array.prototype.at',
    ]);
  });

  it('reports a browser whose CSS lacks :focus-visible', () => {
    const cssSupports = (condition: string) => !condition.includes(':focus-visible');
    expect(missingBrowserFeatures({ ...modern, cssSupports })).toEqual(['CSS :focus-visible']);
  });

  it('reports both CSS checks when there is no CSS.supports at all', () => {
    expect(missingBrowserFeatures({ ...modern, cssSupports: undefined })).toEqual([
      'CSS :focus-visible',
      'CSS color-mix()',
    ]);
  });

  it('treats a CSS.supports that throws as unsupported', () => {
    const cssSupports = () => {
      throw new SyntaxError('unknown syntax');
    };
    expect(missingBrowserFeatures({ ...modern, cssSupports })).toHaveLength(2);
  });

  it('lists everything an ancient browser lacks', () => {
    const ancient: BrowserEnvironment = {
      structuredClone: 'undefined',
      arrayAt: 'undefined',
      arrayFindLast: 'undefined',
      objectHasOwn: 'undefined',
      resizeObserver: 'undefined',
      abortController: 'undefined',
      intlPluralRules: 'undefined',
      cssSupports: undefined,
    };
    expect(missingBrowserFeatures(ancient)).toHaveLength(9);
  });
});
