// The browser's copy of core's config_schema checks (services/core/app/modules/config_schema.py): the same
// keywords, so a form refuses what the server would refuse before it is sent (the server checks again).

const TYPES = {
  string: (v) => typeof v === 'string',
  integer: (v) => Number.isInteger(v),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
  boolean: (v) => typeof v === 'boolean',
  object: (v) => v !== null && typeof v === 'object' && !Array.isArray(v),
  array: (v) => Array.isArray(v),
  null: (v) => v === null,
};

const BOUNDS = [
  ['minimum', (v, b) => v >= b, '>='], ['maximum', (v, b) => v <= b, '<='],
  ['exclusiveMinimum', (v, b) => v > b, '>'], ['exclusiveMaximum', (v, b) => v < b, '<'],
];

// Every way `value` breaks `schema` (one property's schema), as sentences.
export function problems(value, schema) {
  const expected = schema.type === undefined ? [] : [].concat(schema.type);
  if (expected.length && !expected.some((t) => TYPES[t] && TYPES[t](value))) {
    return [`must be of type ${expected.join(' or ')}`];
  }
  const found = [];
  if (Array.isArray(schema.enum) && !schema.enum.some((x) => JSON.stringify(x) === JSON.stringify(value))) {
    found.push(`must be one of ${schema.enum.join(', ')}`);
  }
  if (typeof value === 'number') {
    for (const [key, ok, word] of BOUNDS) {
      if (typeof schema[key] === 'number' && !ok(value, schema[key])) found.push(`must be ${word} ${schema[key]}`);
    }
  }
  if (typeof value === 'string') {
    if (typeof schema.minLength === 'number' && value.length < schema.minLength) {
      found.push(`must have at least ${schema.minLength} characters`);
    }
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) {
      found.push(`must have at most ${schema.maxLength} characters`);
    }
    if (typeof schema.pattern === 'string') {
      try {
        if (!new RegExp(schema.pattern, 'u').test(value)) found.push(`must match ${schema.pattern}`);
      } catch {
        /* a pattern the browser cannot compile is left to the server (RE2) */
      }
    }
  }
  return found;
}

// The typed value of a form control for `schema`, or undefined when the text cannot be that type.
export function parse(text, schema) {
  const type = [].concat(schema.type || 'string')[0];
  if (type === 'number' || type === 'integer') {
    if (String(text).trim() === '') return undefined;
    const n = Number(text);
    return Number.isNaN(n) ? undefined : n;
  }
  if (type === 'boolean') return Boolean(text);
  if (type === 'array' || type === 'object') {
    try { return JSON.parse(text); } catch { return undefined; }
  }
  return String(text);
}
