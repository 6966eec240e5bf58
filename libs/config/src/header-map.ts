import { isObject, ValidateBy, type ValidationOptions } from 'class-validator';

/** RFC 9110 5.1: a header name is a token. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Characters that would end or split a header line; undici refuses them on every request. */
const LINE_BREAK = /[\r\n\0]/;
/**
 * Headers that carry a provider's key (OpenAI's and most servers' bearer token, Anthropic's, Google's,
 * Azure's). Secrets never live in the config: one set here replaced the `apiKeyEnv` key upstream, and
 * an upstream echoing it in an error reached the client unredacted (only the variables' values are).
 */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);

/** What is wrong with `headers`, or undefined when every entry can be sent as written. */
function headerMapProblem(headers: unknown): string | undefined {
  if (!isObject(headers)) return 'headers must be a mapping of header names to values';
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) return `header name "${name}" is not an HTTP token (letters, digits, !#$%&'*+-.^_\`|~)`;
    if (CREDENTIAL_HEADERS.has(name.toLowerCase()))
      return `header "${name}" carries a credential: secrets never live in the config; put the key in the variable apiKeyEnv names`;
    // A YAML number or boolean would be sent as its canonical form (1.10 as "1.1"), not as written.
    if (typeof value !== 'string') return `header "${name}": the value must be a string (quote it)`;
    if (LINE_BREAK.test(value)) return `header "${name}": the value contains a line break or NUL`;
  }
  return undefined;
}

/** Extra upstream headers: names that are HTTP tokens, string values that fit on one header line. */
export function IsHeaderMap(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isHeaderMap',
      validator: {
        validate: (value) => headerMapProblem(value) === undefined,
        defaultMessage: (args) => headerMapProblem(args!.value)!,
      },
    },
    options,
  );
}
