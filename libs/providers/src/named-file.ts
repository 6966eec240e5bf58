import type { ErrorMapping } from './status-mapping';

/**
 * The file a request named (an Anthropic `file` source, an OpenAI `file_id`, a Gemini Files API URI) is not there for
 * the gateway's account: gone, never uploaded, or another account's. A 404, as Anthropic and OpenAI answer it: the
 * client named something that does not exist for it (Gemini's 403 says the same, "or it may not exist", without
 * telling which). The client's own mistake, told in its protocol (an Anthropic client's `not_found_error`), with the
 * upstream's words naming the file. Counted as a 400 (judgedStatus): a file id belongs to one vendor account, so no
 * other deployment is asked, and the deployment, which answered, is not cooled down.
 */
export const FILE_NOT_FOUND: ErrorMapping = [404, 'invalid_request_error', 'file_not_found', false];

/** The file a request named is there but cannot be used yet (still processing): the request's, a 400. */
const FILE_NOT_READY: ErrorMapping = [400, 'invalid_request_error', null, false];

/**
 * Each vendor's words for "the file the request named is not found, not yours, or not usable". Read by their status
 * alone (a 404 `not_found_error`, a 403 PERMISSION_DENIED: the deployment's model id unknown, its key refused), they
 * cooled the deployment down for every tenant, and any key could do that at will with a made-up file id (recheck27,
 * route28). A plain 404 without these words (an unknown model id) is still the deployment's own trouble.
 *
 * - Anthropic: "File not found: file_…", confirmed in its Files API guide
 *   (platform.claude.com/docs/en/build-with-claude/files, Error handling: "File not found (404): the specified
 *   file_id doesn't exist or you don't have access to it"; its example body is typed `invalid_request_error`, where a
 *   404 would carry `not_found_error`: the words decide, whichever type comes with them).
 * - OpenAI: "No such File object: file-…" (404, type `invalid_request_error`, param `id`) is OpenAI's answer for a file
 *   id it does not know on its Files and Assistants endpoints, confirmed in LibreChat#2632's log; the body is as
 *   client libraries' tests record it (a .NET client's, an Elixir client's). That Chat Completions answers a `file`
 *   part naming such an id in these words is not confirmed. Its 400 "Invalid file data: 'file_id'…"
 *   (openai-python#2472) is a 400 by status already: not needed here.
 * - Gemini: "You do not have permission to access the File … or it may not exist." (403 PERMISSION_DENIED), confirmed
 *   in python-genai#1218 and generative-ai-python#692 (a project with an unpaid bill got it too: still about the
 *   file the request named, and answered for that request alone); "The File … is not in an ACTIVE state" (400
 *   FAILED_PRECONDITION, a file still processing) as an earlier check found it, not confirmed here; "File files/… not
 *   found." (404 NOT_FOUND) comes from another gateway's unit tests only, not confirmed. Google's bare "Requested
 *   entity was not found." names nothing: left to its status.
 */
export const NAMED_FILE_WORDS = {
  anthropic: [[/^File not found: \S/, FILE_NOT_FOUND]],
  openai: [[/^No such File object: \S/, FILE_NOT_FOUND]],
  gemini: [
    [/^You do not have permission to access the File \S+ or it may not exist/, FILE_NOT_FOUND],
    [/^File files\/\S+ not found/, FILE_NOT_FOUND],
    [/^The File \S+ is not in an ACTIVE state/, FILE_NOT_READY],
  ],
} satisfies Record<string, [RegExp, ErrorMapping][]>;

/**
 * How an upstream's 4xx about the file the request named reaches the client, where `vendor`'s words (`message`) say
 * so; undefined for any other error. Only a 4xx other than a rate limit: a 429's or a 5xx's body is no answer about
 * the request's file.
 */
export function namedFileMapping(
  vendor: keyof typeof NAMED_FILE_WORDS,
  status: number | undefined,
  message: unknown,
): ErrorMapping | undefined {
  if (status === undefined || status < 400 || status > 499 || status === 429 || typeof message !== 'string') return undefined;
  return NAMED_FILE_WORDS[vendor].find(([words]) => words.test(message))?.[1];
}
