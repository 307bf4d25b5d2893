import { describe, expect, it } from 'vitest';
import { makeExtractor, missingAtPath, valueAtPath } from '../../src/records/extract.js';
import { parseFieldSpec } from '../../src/records/specs.js';

function extractor(spec: string, delimiter: string | null = null): (line: string) => string | null {
  return makeExtractor(parseFieldSpec(spec, '--key'), delimiter);
}

describe('field=N split on runs of whitespace (the default delimiter), as awk does', () => {
  it.each([
    ['field=1', 'GET /index.html 200', 'GET'],
    ['field=2', 'GET /index.html 200', '/index.html'],
    ['field=3', 'GET /index.html 200', '200'],
    ['field=1', '   leading spaces', 'leading'],
    ['field=2', '   leading   runs   of spaces', 'runs'],
    ['field=1', '\t\ttabbed\tline', 'tabbed'],
    ['field=2', 'mixed \t \t separators\t\t here', 'separators'],
    ['field=4', 'a\tb c\u000bd\fe\rf', 'd'],
    ['field=6', 'a\tb c\u000bd\fe\rf', 'f'],
    ['field=2', 'trailing whitespace   \t', 'whitespace'],
    ['field=1', 'café 漢字 😀', 'café'],
    ['field=2', 'café 漢字 😀', '漢字'],
    ['field=3', 'café 漢字 😀', '😀'],
    ['field=1', 'single', 'single'],
  ])('%s of %j is %j', (spec, line, expected) => {
    expect(extractor(spec)(line)).toBe(expected);
  });

  it.each([
    ['field=4', 'GET /index.html 200'],
    ['field=2', 'single'],
    ['field=2', 'single   '],
    ['field=1', ''],
    ['field=1', '   \t  '],
  ])('%s of %j is missing: null', (spec, line) => {
    expect(extractor(spec)(line)).toBeNull();
  });

  it('does not split on non-ASCII spaces (only ASCII whitespace separates fields)', () => {
    expect(extractor('field=1')('a\u00a0b c')).toBe('a\u00a0b');
  });
});

describe('field=N split on a literal delimiter', () => {
  it.each([
    ['field=1', ',', 'a,b,c', 'a'],
    ['field=2', ',', 'a,b,c', 'b'],
    ['field=3', ',', 'a,b,c', 'c'],
    ['field=2', ',', 'a,,c', ''],
    ['field=1', ',', ',b', ''],
    ['field=2', ',', ' a , b ', ' b '],
    ['field=2', '::', 'x::y::z', 'y'],
    ['field=3', '::', 'x::y::z', 'z'],
    ['field=2', '::', 'x:y::z', 'z'],
    ['field=2', ' | ', 'left | middle | right', 'middle'],
    ['field=2', '\t', 'a b\tc d', 'c d'],
    ['field=2', '.', 'a.b.c', 'b'],
    ['field=2', '*', 'a*b', 'b'],
    ['field=1', ',', 'no delimiter here', 'no delimiter here'],
  ])('%s with delimiter %j of %j is %j', (spec, delimiter, line, expected) => {
    expect(extractor(spec, delimiter)(line)).toBe(expected);
  });

  it.each([
    ['field=4', ',', 'a,b,c'],
    ['field=2', ',', 'abc'],
    ['field=3', '::', 'x::y'],
    ['field=2', '::', 'x:y'],
  ])('%s with delimiter %j of %j is missing: null', (spec, delimiter, line) => {
    expect(extractor(spec, delimiter)(line)).toBeNull();
  });

  it('does not treat the delimiter as a regular expression', () => {
    expect(extractor('field=2', '.')('abc')).toBeNull();
    expect(extractor('field=2', '[a]')('x[a]y')).toBe('y');
  });
});

describe('json=PATH', () => {
  it.each([
    ['json=user', '{"user":"ada"}', 'ada'],
    ['json=user.id', '{"user":{"id":"u-17","name":"Ada"}}', 'u-17'],
    ['json=a.b.c', '{"a":{"b":{"c":"deep"}}}', 'deep'],
    ['json=n', '{"n":42}', '42'],
    ['json=n', '{"n":-0.5}', '-0.5'],
    ['json=n', '{"n":1.25e2}', '125'],
    ['json=ok', '{"ok":true}', 'true'],
    ['json=ok', '{"ok":false}', 'false'],
    ['json=s', '{"s":""}', ''],
    ['json=s', '{"s":"café 漢字 😀"}', 'café 漢字 😀'],
    ['json=s', '{"s":"tab\\there"}', 'tab\there'],
    ['json=items.1', '{"items":["a","b"]}', 'b'],
    ['json=k', '  {"k":"spaced"}  ', 'spaced'],
  ])('%s of %s is %j', (spec, line, expected) => {
    expect(extractor(spec)(line)).toBe(expected);
  });

  it.each([
    ['json=user', '{"user":{"id":1}}', 'an object'],
    ['json=items', '{"items":[1,2]}', 'an array'],
    ['json=v', '{"v":null}', 'null'],
    ['json=missing', '{"v":1}', 'a missing key'],
    ['json=v.deeper', '{"v":"text"}', 'a path through a string'],
    ['json=v.deeper', '{"v":7}', 'a path through a number'],
    ['json=v.deeper', '{"v":null}', 'a path through null'],
    ['json=a.b', '{"a":{}}', 'a missing nested key'],
    ['json=v', '{"v":1', 'invalid JSON'],
    ['json=v', 'not json at all', 'plain text'],
    ['json=v', '', 'an empty line'],
    ['json=v', '"just a string"', 'a top-level string'],
    ['json=v', '[{"v":1}]', 'a top-level array'],
    ['json=toString', '{}', 'an inherited property'],
    ['json=constructor', '{"a":1}', 'an inherited property'],
  ])('%s of %s is null (%s)', (spec, line) => {
    expect(extractor(spec)(line)).toBeNull();
  });
});

describe('regex=RE', () => {
  it.each([
    ['regex=user=(\\w+)', 'GET /?user=ada&x=1', 'ada'],
    ['regex=(\\d+)-(\\d+)', 'range 10-20', '10'],
    ['regex=(?:GET|POST) (\\S+)', 'POST /api/v1 HTTP/1.1', '/api/v1'],
    ['regex=^\\S+', 'first word only', 'first'],
    ['regex=\\d+', 'took 125ms', '125'],
    ['regex=(é+)', 'caféé', 'éé'],
    ['regex=took (\\d*)ms', 'took ms', ''],
  ])('%s of %j is %j', (spec, line, expected) => {
    expect(extractor(spec)(line)).toBe(expected);
  });

  it('takes the first capture group, else the whole match', () => {
    expect(extractor('regex=a(b)c')('xabcx')).toBe('b');
    expect(extractor('regex=abc')('xabcx')).toBe('abc');
  });

  it.each([
    ['regex=user=(\\w+)', 'GET /?id=1'],
    ['regex=^GET', 'POST /'],
    ['regex=\\d+', ''],
    ['regex=(x)?y', 'y'],
  ])('%s of %j is null (no match, or the group did not take part)', (spec, line) => {
    expect(extractor(spec)(line)).toBeNull();
  });

  it('is not stateful across lines', () => {
    const extract = extractor('regex=(\\d+)');
    expect(extract('a 1')).toBe('1');
    expect(extract('b 22')).toBe('22');
    expect(extract('c 333')).toBe('333');
    expect(extract('c 333')).toBe('333');
  });
});

describe('missingAtPath: why json=PATH found nothing to use', () => {
  it.each([
    [['v'], { w: 1 }],
    [['a', 'b'], { a: {} }],
    [['v', 'deeper'], { v: 'text' }],
    [['v', 'deeper'], { v: 7 }],
    [['v', 'deeper'], { v: null }],
    [['v'], 'a top-level string'],
    [['v'], [{ v: 1 }]],
    [['toString'], {}],
    [['constructor'], { a: 1 }],
  ])('nothing at %j in %j: missing field', (path, root) => {
    expect(valueAtPath(root, path)).toBeNull();
    expect(missingAtPath(root, path)).toBe('missing field');
  });

  it.each([
    [['v'], { v: null }],
    [['v'], { v: { a: 1 } }],
    [['v'], { v: [1, 2] }],
    [['a', 'b'], { a: { b: [] } }],
  ])('%j of %j is there but no string, number or boolean: non-scalar value', (path, root) => {
    expect(valueAtPath(root, path)).toBeNull();
    expect(missingAtPath(root, path)).toBe('non-scalar value');
  });
});
