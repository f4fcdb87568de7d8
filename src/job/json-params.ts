import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';
import type { JsonValue } from './job-definition.js';

/** Containers (objects and arrays) that params may nest. */
export const MAX_PARAMS_DEPTH = 64;

type Segment = string | number;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Checks that `value` is plain JSON and returns its JSON text (`undefined`
 * for `undefined`, meaning "no params").
 *
 * Accepted: `null`, booleans, finite numbers, strings, arrays and plain
 * objects (prototype `Object.prototype` or `null`). Rejected, with the path of
 * the offending value (`params.user.tags[2]`): functions, symbols, bigints,
 * `undefined` inside objects or arrays (including array holes), `NaN` and
 * `±Infinity`, Dates, Maps, Sets, boxed primitives and class instances, symbol
 * keys, cycles (named at the property that closes them), `__proto__` keys
 * (a prototype-pollution vector once the JSON is parsed and merged), nesting
 * deeper than 64 containers, and JSON text longer than `maxBytes` UTF-8 bytes.
 *
 * Shared references that are not cycles are accepted (JSON repeats them).
 *
 * @param where names the params in the message: `job "acme/x"`, `trigger of job "x"`.
 * @throws SchedkitError `E_INVALID_PARAMS` with `details.path`.
 *
 * @example
 * const text = validateParams({ postId: 42 }, jobLabel('publish', 'acme'), config.maxParamsBytes);
 */
export function validateParams(value: unknown, where: string, maxBytes: number): string | undefined {
  if (value === undefined) return undefined;
  checkValue(value, [], [], where);
  // Every value was checked above, so stringify cannot throw or drop anything.
  const text: string | undefined = JSON.stringify(value);
  if (typeof text !== 'string') fail(where, [], 'is not JSON-serialisable');
  // UTF-8 never takes fewer bytes than UTF-16 code units: skip the count
  // when the text is short enough whatever it contains.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) {
      fail(where, [], `is ${bytes} bytes as JSON, more than the limit of ${maxBytes} bytes`);
    }
  }
  return text;
}

/**
 * Parses params stored as JSON text without prototype pollution: `__proto__`
 * keys are dropped (so no later merge can reach `Object.prototype`), and
 * `constructor` / `prototype` keys stay ordinary own data properties.
 *
 * @throws SchedkitError `E_INVALID_PARAMS` when the text is not valid JSON.
 */
export function parseStoredParams(text: string): JsonValue {
  try {
    // The reviver costs a call per value; it is needed only when the key can
    // occur: literally, or spelled with \u escapes.
    if (text.includes('__proto__') || text.includes('\\u')) return JSON.parse(text, dropProtoKeys) as JsonValue;
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new SchedkitError(ErrorCode.InvalidParams, messages.storedParamsCorrupt((error as Error).message), {
      cause: error,
    });
  }
}

function dropProtoKeys(key: string, value: unknown): unknown {
  // Returning undefined deletes the property from the parsed holder.
  return key === '__proto__' ? undefined : value;
}

/**
 * Depth-first check. `segments` is the path from the root; `ancestors` the
 * containers currently open (a cycle is a reference back to one of them).
 * Paths are built only when there is an error to report.
 */
function checkValue(value: unknown, segments: Segment[], ancestors: object[], where: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(where, segments, `is ${String(value)}, not a finite number`);
      return;
    case 'undefined':
      fail(where, segments, 'is undefined, which JSON cannot hold (leave the key out or use null)');
      return;
    case 'function':
      fail(where, segments, 'is a function, not JSON');
      return;
    case 'symbol':
      fail(where, segments, 'is a symbol, not JSON');
      return;
    case 'bigint':
      fail(where, segments, 'is a bigint, not JSON (pass it as a string)');
      return;
    case 'object':
      break;
  }
  if (value === null) return;
  const object = value as object;

  const cycleAt = ancestors.indexOf(object);
  if (cycleAt >= 0) {
    fail(where, segments, `refers back to params${formatPath(segments.slice(0, cycleAt))} (a cycle)`);
  }
  if (ancestors.length >= MAX_PARAMS_DEPTH) {
    fail(where, segments, `nests deeper than ${MAX_PARAMS_DEPTH} levels`);
  }

  if (Array.isArray(object)) {
    // JSON.stringify would call it and write whatever it returns instead.
    if (Object.hasOwn(object, 'toJSON')) fail(where, segments, 'has a toJSON property, not plain JSON');
    ancestors.push(object);
    for (let i = 0; i < object.length; i++) {
      segments.push(i);
      checkValue(object[i], segments, ancestors, where);
      segments.pop();
    }
    ancestors.pop();
    return;
  }

  const proto: unknown = Object.getPrototypeOf(object);
  if (proto !== Object.prototype && proto !== null) {
    fail(where, segments, `is ${describeInstance(object)}; only plain objects, arrays and primitives are allowed`);
  }
  if (Object.getOwnPropertySymbols(object).length > 0) {
    fail(where, segments, 'has a symbol key, which JSON would silently drop');
  }
  ancestors.push(object);
  for (const key of Object.keys(object)) {
    segments.push(key);
    if (key === '__proto__') fail(where, segments, 'is not allowed: "__proto__" keys are a prototype-pollution vector');
    checkValue((object as Record<string, unknown>)[key], segments, ancestors, where);
    segments.pop();
  }
  ancestors.pop();
}

function describeInstance(object: object): string {
  if (object instanceof Date) return 'a Date (pass it as an ISO string)';
  if (object instanceof Map) return 'a Map';
  if (object instanceof Set) return 'a Set';
  const name = (object as { constructor?: { name?: unknown } }).constructor?.name;
  // `Object` here means Object.create(somePlainObject): inherited keys JSON would drop.
  return typeof name === 'string' && name !== '' && name !== 'Object'
    ? `an instance of ${name}`
    : 'an object with a custom prototype';
}

/** `.user.tags[2]`, `["a key"]`; `''` for the root. */
export function formatPath(segments: readonly Segment[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) path += `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function fail(where: string, segments: readonly Segment[], why: string): never {
  const path = formatPath(segments);
  throw new SchedkitError(ErrorCode.InvalidParams, messages.invalidParams(where, path, why), { details: { path } });
}
