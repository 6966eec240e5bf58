import { namedFileMapping } from '../named-file';
import { type ErrorMapping, statusMapping, statusSaysAll } from '../status-mapping';
import { ACCOUNT_CODES, ACCOUNT_WORDS, ERROR_TYPES } from './tables';

/**
 * How an Anthropic error (an answer's, or a stream's `error` event's) reaches the client: as the gateway's account
 * that cannot be billed when its `error.details.error_code` or its words say so (ACCOUNT_CODES, ACCOUNT_WORDS); as
 * the client's 404 when its words say the file the request named is not found (named-file.ts), whatever its type
 * (`not_found_error`, or `invalid_request_error` as Anthropic's guide shows it); else by its `error.type` when that
 * says more than the status; `api_error` (any failure) or none leaves it to the status, as an OpenAI-format
 * upstream's (a stream's event has none: a failure). A 503 or 529 is overloaded, and a
 * 402 payment required, whatever body a proxy put on it (statusSaysAll).
 */
export function anthropicMapping(status: number | undefined, type: unknown, code: unknown, message: unknown): ErrorMapping {
  if (status !== undefined && statusSaysAll(status)) return statusMapping(status);
  const account =
    (typeof code === 'string' && Object.hasOwn(ACCOUNT_CODES, code) && ACCOUNT_CODES[code]) ||
    (typeof message === 'string' && ACCOUNT_WORDS.find(([words]) => words.test(message))?.[1]);
  if (account) return account;
  const file = namedFileMapping('anthropic', status, message);
  if (file) return file;
  const said = typeof type === 'string' && type !== 'api_error' && Object.hasOwn(ERROR_TYPES, type) && ERROR_TYPES[type];
  return said || (status === undefined ? ERROR_TYPES.api_error! : statusMapping(status));
}
