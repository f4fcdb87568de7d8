import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, SchedkitError } from '../../../src/errors/schedkit-error.js';
import { MAX_PARAMS_DEPTH, parseStoredParams, validateParams } from '../../../src/job/json-params.js';

const WHERE = 'job "acme/x"';
const LIMIT = 65_536;

/** Calls validateParams and returns the thrown SchedkitError (fails when nothing is thrown). */
function rejection(value: unknown, maxBytes = LIMIT, where = WHERE): SchedkitError {
  try {
    validateParams(value, where, maxBytes);
  } catch (error) {
    expect(SchedkitError.is(error, ErrorCode.InvalidParams)).toBe(true);
    return error as SchedkitError;
  }
  throw new Error('expected validateParams to throw');
}

function nest(levels: number, leaf: unknown = 1): unknown {
  let value = leaf;
  for (let i = 0; i < levels; i++) value = [value];
  return value;
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}

describe('validateParams: accepted values', () => {
  const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
  const shared = { s: 1 };
  const good: Array<[string, unknown]> = [
    ['null', null],
    ['true', true],
    ['false', false],
    ['zero', 0],
    ['negative zero', -0],
    ['a float', 3.25],
    ['the largest number', Number.MAX_VALUE],
    ['an empty string', ''],
    ['a unicode string', 'grüße 🎉'],
    ['an empty array', []],
    ['an empty object', {}],
    ['nested data', { user: { id: 7, tags: ['a', 'b'], active: true, note: null } }],
    ['a null-prototype object', nullProto],
    ['a "constructor" key', { constructor: 'x', prototype: { y: 1 } }],
    ['keys that need quoting', { 'a b': 1, '': 2, 'x.y': [3] }],
    ['a shared (non-cyclic) reference', { a: shared, b: shared, c: [shared, shared] }],
    [`${MAX_PARAMS_DEPTH} levels of nesting`, nest(MAX_PARAMS_DEPTH)],
  ];

  it.each(good)('accepts %s and returns its JSON text', (_label, value) => {
    expect(validateParams(value, WHERE, LIMIT)).toBe(JSON.stringify(value));
  });

  it('returns undefined for undefined (no params)', () => {
    expect(validateParams(undefined, WHERE, LIMIT)).toBeUndefined();
  });
});

describe('validateParams: rejected values', () => {
  const cyclicRoot: Record<string, unknown> = { b: {} };
  (cyclicRoot.b as Record<string, unknown>).self = cyclicRoot;
  const cyclicInner: Record<string, unknown> = { a: { b: { list: [] as unknown[] } } };
  const inner = cyclicInner.a as { b: { list: unknown[] } };
  inner.b.list.push(1, inner);
  const cyclicArray: unknown[] = [1];
  cyclicArray.push(cyclicArray);
  const withSymbolKey = { a: 1, [Symbol('k')]: 2 };
  const arrayWithToJSON = Object.assign([1, 2], { toJSON: () => 'other' });
  const inherited = Object.create({ inheritedKey: 1 }) as object;

  const bad: Array<[string, unknown, string, RegExp]> = [
    ['a function at the root', () => 1, '', /^job "acme\/x": params is a function, not JSON$/],
    ['a function deep inside', { user: { tags: ['a', 'b', () => 1] } }, '.user.tags[2]', /params\.user\.tags\[2\] is a function/],
    ['a symbol', { s: Symbol('x') }, '.s', /is a symbol/],
    ['a bigint', { n: 10n }, '.n', /is a bigint/],
    ['undefined in an object', { a: 1, b: undefined }, '.b', /is undefined/],
    ['undefined in an array', [1, undefined], '[1]', /is undefined/],
    // eslint-disable-next-line no-sparse-arrays
    ['an array hole', [1, , 3], '[1]', /is undefined/],
    ['NaN', { n: Number.NaN }, '.n', /is NaN, not a finite number/],
    ['Infinity', { n: Number.POSITIVE_INFINITY }, '.n', /is Infinity, not a finite number/],
    ['-Infinity', [Number.NEGATIVE_INFINITY], '[0]', /is -Infinity/],
    ['a Date', { when: new Date(0) }, '.when', /is a Date \(pass it as an ISO string\)/],
    ['a Map', { m: new Map() }, '.m', /is a Map/],
    ['a Set', { s: new Set([1]) }, '.s', /is a Set/],
    ['a class instance', { p: new Point(1, 2) }, '.p', /is an instance of Point; only plain objects/],
    ['a boxed string', { s: new String('x') }, '.s', /an instance of String/],
    ['a Buffer', { b: Buffer.from('x') }, '.b', /an instance of Buffer/],
    ['a typed array', new Uint8Array(2), '', /an instance of Uint8Array/],
    ['an object with an inherited prototype', { o: inherited }, '.o', /an object with a custom prototype/],
    ['a symbol key', withSymbolKey, '', /has a symbol key/],
    ['an array with toJSON', { a: arrayWithToJSON }, '.a', /has a toJSON property/],
    ['a __proto__ key', JSON.parse('{"__proto__":{"x":1}}'), '.__proto__', /is not allowed: "__proto__" keys are a prototype-pollution vector/],
    ['a nested __proto__ key', { a: [JSON.parse('{"ok":1,"__proto__":{"x":1}}')] }, '.a[0].__proto__', /prototype-pollution/],
    ['a cycle to the root', cyclicRoot, '.b.self', /params\.b\.self refers back to params \(a cycle\)/],
    ['a cycle to an inner object', cyclicInner, '.a.b.list[1]', /params\.a\.b\.list\[1\] refers back to params\.a \(a cycle\)/],
    ['a cyclic array', cyclicArray, '[1]', /params\[1\] refers back to params \(a cycle\)/],
    ['a key that needs quoting', { 'a b': [() => 1] }, '["a b"][0]', /params\["a b"\]\[0\] is a function/],
    [`${MAX_PARAMS_DEPTH + 1} levels of nesting`, nest(MAX_PARAMS_DEPTH + 1), '[0]'.repeat(MAX_PARAMS_DEPTH), /nests deeper than 64 levels/],
  ];

  it.each(bad)('rejects %s with E_INVALID_PARAMS and its path', (_label, value, path, message) => {
    const error = rejection(value);
    expect(error.code).toBe('E_INVALID_PARAMS');
    expect(error.details).toEqual({ path });
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${WHERE}: params${path} `)).toBe(true);
  });

  it('names the place given by `where`', () => {
    expect(rejection({ f: () => 1 }, LIMIT, 'trigger of job "x"').message).toBe(
      'trigger of job "x": params.f is a function, not JSON',
    );
  });

  it('does not overflow the stack on very deep input', () => {
    expect(rejection(nest(100_000)).message).toMatch(/nests deeper than 64 levels/);
  });
});

describe('validateParams: size limit (UTF-8 bytes of the JSON text)', () => {
  it('rejects a 1 MB string, naming the size and the limit', () => {
    const error = rejection({ blob: 'x'.repeat(1024 * 1024) });
    const size = 1024 * 1024 + '{"blob":""}'.length;
    expect(error.message).toBe(`${WHERE}: params is ${size} bytes as JSON, more than the limit of ${LIMIT} bytes`);
    expect(error.details).toEqual({ path: '' });
  });

  it('accepts text of exactly maxBytes and rejects one byte more', () => {
    const value = 'x'.repeat(1024 * 1024);
    const bytes = value.length + 2; // the quotes
    expect(validateParams(value, WHERE, bytes)).toHaveLength(bytes);
    expect(rejection(value, bytes - 1).message).toContain(`is ${bytes} bytes as JSON, more than the limit of ${bytes - 1} bytes`);
  });

  it('counts UTF-8 bytes, not characters', () => {
    const value = 'é'.repeat(10); // 10 characters, 20 bytes; JSON adds 2 quotes
    expect(validateParams(value, WHERE, 22)).toBe(JSON.stringify(value));
    expect(rejection(value, 21).message).toContain('is 22 bytes as JSON');
    const emoji = '🎉'.repeat(3); // 6 UTF-16 units, 12 bytes
    expect(rejection(emoji, 13).message).toContain('is 14 bytes as JSON');
  });
});

describe('parseStoredParams', () => {
  afterEach(() => {
    // Belt and braces: whatever a test did, Object.prototype must be clean.
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  });

  it('round-trips what validateParams produced', () => {
    const value = { user: { id: 7, tags: ['a', 'b'] }, n: null, ok: true, s: 'grüße' };
    expect(parseStoredParams(validateParams(value, WHERE, LIMIT)!)).toEqual(value);
    expect(parseStoredParams('42')).toBe(42);
    expect(parseStoredParams('"x"')).toBe('x');
    expect(parseStoredParams('null')).toBeNull();
  });

  it('drops __proto__ keys at any depth, so merging the result cannot pollute Object.prototype', () => {
    const parsed = parseStoredParams('{"a":1,"__proto__":{"polluted":true},"b":{"__proto__":{"polluted":true},"c":2}}') as Record<
      string,
      unknown
    >;
    expect(parsed).toEqual({ a: 1, b: { c: 2 } });
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect(Object.hasOwn(parsed.b as object, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    // The classic pollution gadget: a deep merge / Object.assign of parsed data.
    const merged = Object.assign({}, parsed);
    expect((merged as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('drops __proto__ spelled with \\u escapes', () => {
    const parsed = parseStoredParams('{"\\u005f_proto__":{"polluted":true},"k":"\\u00e9"}') as Record<string, unknown>;
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect(parsed).toEqual({ k: 'é' });
    expect(Object.assign({}, parsed)).not.toHaveProperty('polluted');
  });

  it('keeps "__proto__" as a string value and as an array element', () => {
    expect(parseStoredParams('{"a":"__proto__","b":["__proto__"]}')).toEqual({ a: '__proto__', b: ['__proto__'] });
  });

  it('keeps constructor and prototype keys as inert own data properties', () => {
    const parsed = parseStoredParams('{"constructor":{"prototype":{"polluted":true}}}') as Record<string, unknown>;
    expect(Object.hasOwn(parsed, 'constructor')).toBe(true);
    expect(parsed.constructor).toEqual({ prototype: { polluted: true } });
    expect(({}).constructor).toBe(Object);
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('throws E_INVALID_PARAMS with the parse error as cause for text that is not JSON', () => {
    let caught: unknown;
    try {
      parseStoredParams('{"a":');
    } catch (error) {
      caught = error;
    }
    expect(SchedkitError.is(caught, ErrorCode.InvalidParams)).toBe(true);
    expect((caught as Error).message).toMatch(/^stored params are not valid JSON: /);
    expect((caught as Error).cause).toBeInstanceOf(SyntaxError);
  });
});
