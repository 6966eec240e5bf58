import { GatewayError } from '@gateway/providers';

/**
 * A body Fastify's JSON parser refused for a key that could reach an object's prototype
 * (`__proto__`, `constructor.prototype`, anywhere), as a 400 naming where it is: it is valid JSON,
 * and "could not parse" sent callers looking for a syntax error. Fastify reports both as
 * FST_ERR_CTP_INVALID_JSON_BODY, so the text is parsed again, on this error path only: JSON.parse
 * makes `__proto__` an own property (it never sets a prototype), safe to walk. Other errors: undefined.
 */
export function forbiddenKeyError(err: Error & { code?: string }, text: string): GatewayError | undefined {
  if (err.code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const path = forbiddenPath(parsed, '');
  const param = path ?? null;
  const where = path ? `'${path}'` : 'the body';
  const message = `Invalid value for ${where}: the keys __proto__ and constructor.prototype are not accepted in request bodies.`;
  return GatewayError.badRequest(message, param, 'forbidden_key');
}

/** The dotted path (OpenAI's form: `a.b[2].c`) of the first forbidden key under `value`. */
function forbiddenPath(value: unknown, path: string): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = forbiddenPath(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '__proto__') return at;
    if (key === 'constructor' && child && typeof child === 'object' && Object.hasOwn(child, 'prototype')) return `${at}.prototype`;
    const found = forbiddenPath(child, at);
    if (found) return found;
  }
  return undefined;
}
