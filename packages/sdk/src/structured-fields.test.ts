import { describe, expect, it } from 'vitest';
import {
  parseDictionary,
  parseItem,
  StructuredFieldError,
  serializeDictionary,
  serializeInnerList,
  serializeItem,
  sfInnerList,
  sfInteger,
  sfItem,
  sfString,
  sfToken,
} from './structured-fields.js';

describe('RFC 8941 structured fields: parsing', () => {
  it('parses a Signature-Input dictionary: inner list of strings with parameters (§4.2.2)', () => {
    const dictionary = parseDictionary(
      'sig1=("@method" "@authority");created=1618884473;keyid="test-key";alg=token, sig2=(  )',
    );
    const sig1 = dictionary.get('sig1');
    expect(sig1?.kind).toBe('inner-list');
    if (sig1?.kind !== 'inner-list') return;
    expect(sig1.items.map((item) => item.value)).toEqual([
      { type: 'string', value: '@method' },
      { type: 'string', value: '@authority' },
    ]);
    expect([...sig1.params]).toEqual([
      ['created', { type: 'integer', value: 1618884473 }],
      ['keyid', { type: 'string', value: 'test-key' }],
      ['alg', { type: 'token', value: 'token' }],
    ]);
    expect(dictionary.get('sig2')).toEqual(sfInnerList([]));
  });

  it('parses byte sequences, booleans, decimals and negative integers', () => {
    const dictionary = parseDictionary('a=:AQID:, b, c=?0, d=-12, e=1.5;x');
    expect(dictionary.get('a')).toMatchObject({ value: { type: 'bytes' } });
    expect([...(dictionary.get('a') as { value: { value: Buffer } }).value.value]).toEqual([
      1, 2, 3,
    ]);
    expect(dictionary.get('b')).toMatchObject({ value: { type: 'boolean', value: true } });
    expect(dictionary.get('c')).toMatchObject({ value: { type: 'boolean', value: false } });
    expect(dictionary.get('d')).toMatchObject({ value: { type: 'integer', value: -12 } });
    expect(dictionary.get('e')).toMatchObject({ value: { type: 'decimal', value: 1.5 } });
  });

  it('tolerates the whitespace the RFC allows: leading/trailing SP, OWS around commas', () => {
    expect([...parseDictionary('  a=1 ,\tb=2  ').keys()]).toEqual(['a', 'b']);
  });

  it('handles escapes in strings (§4.2.5)', () => {
    expect(parseItem('"a \\"quoted\\" \\\\ value"').value).toEqual(sfString('a "quoted" \\ value'));
  });

  it('keeps the last value for a duplicate key, in the first position (§4.2.2 step 2.4)', () => {
    const dictionary = parseDictionary('a=1, b=2, a=3');
    expect([...dictionary.keys()]).toEqual(['a', 'b']);
    expect(dictionary.get('a')).toEqual(sfItem(sfInteger(3)));
  });

  it('accepts base64 without padding, as §4.2.7 says parsers SHOULD', () => {
    const item = parseItem(':AQI:');
    expect(item.value.type).toBe('bytes');
    expect([...(item.value.value as Buffer)]).toEqual([1, 2]);
  });

  it.each([
    ['an upper-case key', 'A=1'],
    ['a key starting with a digit', '1a=1'],
    ['a trailing comma', 'a=1,'],
    ['a missing comma', 'a=1 b=2'],
    ['an unterminated string', 'a="abc'],
    ['a bad escape in a string', 'a="a\\b"'],
    ['a control character in a string', 'a="a\tb"'],
    ['an unterminated inner list', 'a=("x" "y"'],
    ['items not separated by SP in an inner list', 'a=("x""y")'],
    ['an unterminated byte sequence', 'a=:AQID'],
    ['a non-base64 character in a byte sequence', 'a=:AQ-D:'],
    ['padding in the middle of a byte sequence', 'a=:AQ==AQ==:'],
    ['an impossible base64 length', 'a=:AQIDB:'],
    ['a boolean other than ?0 or ?1', 'a=?2'],
    ['an integer with 16 digits', 'a=1234567890123456'],
    ['a decimal with 4 fractional digits', 'a=1.2345'],
    ['a decimal ending in "."', 'a=1.'],
    ['a lone minus', 'a=-'],
    ['non-ASCII input', 'a="blåbær"'],
    ['an unrecognised item type', 'a=@1'],
    ['trailing garbage after an item', 'a=1 x'],
    ['a leading comma', ', a=1'],
  ])('fails on %s', (_case, input) => {
    expect(() => parseDictionary(input)).toThrow(StructuredFieldError);
  });

  it('fails on a trailing tab at top level (only SP is discarded, §4.2)', () => {
    expect(() => parseItem('1\t')).toThrow(StructuredFieldError);
  });
});

describe('RFC 8941 structured fields: serialising', () => {
  it('serialises an inner list with parameters in the order given (§4.1.1.1)', () => {
    const list = sfInnerList(
      [sfItem(sfString('@method')), sfItem(sfString('date'))],
      new Map([
        ['keyid', sfString('k')],
        ['created', sfInteger(1)],
      ]),
    );
    expect(serializeInnerList(list)).toBe('("@method" "date");keyid="k";created=1');
  });

  it('round-trips a dictionary through parse and serialise', () => {
    const text = 'a=:AQID:, b, c=?0, d=-12, e=("x" tok);p="q\\"r", f=1.5';
    expect(serializeDictionary(parseDictionary(text))).toBe(text);
  });

  it('normalises optional whitespace when re-serialising (what §4.1 calls strict serialisation)', () => {
    expect(serializeDictionary(parseDictionary('a=1 ,   b=( "x"   "y" )'))).toBe(
      'a=1, b=("x" "y")',
    );
  });

  it.each([
    ['a string with a newline', sfItem(sfString('a\nb'))],
    ['a string with non-ASCII', sfItem(sfString('blåbær'))],
    ['an integer above 15 digits', sfItem(sfInteger(1e15))],
    ['a fractional integer', sfItem(sfInteger(1.5))],
    ['a token with a space', sfItem(sfToken('a b'))],
    ['an upper-case parameter key', sfItem(sfInteger(1), new Map([['Key', sfInteger(1)]]))],
  ])('refuses to serialise %s', (_case, item) => {
    expect(() => serializeItem(item)).toThrow(StructuredFieldError);
  });
});
