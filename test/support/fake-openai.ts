import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeUpstream, PATCH, pieces, sendJson as json, sleep } from './fake-upstream';

/**
 * A fake OpenAI upstream on 127.0.0.1 speaking the documented wire format. Its
 * behaviour is picked by the upstream model id the gateway sends, so one server
 * covers success, SSE, errors, rate limits, slow and dying upstreams:
 *
 * - `ok` / anything else: a normal completion (or SSE stream when `stream: true`);
 * - `tool`: answers with a tool call (streamed as fragmented arguments when streaming); after
 *   tool results, text quoting them (`tool results: <id>=<content>; …`);
 * - `call-<name>`: like `tool`, but a call of the tool <name> with `{ query }`, the last line of
 *   the last user message (the input of a search tool such as Claude Code's WebSearch);
 * - `tool-first`: like `tool`, but a call of the first tool declared, with `{}` (as the Anthropic and
 *   Gemini fakes' tool models do);
 * - `tool-stop`: like `tool`, but finishing with `finish_reason: stop`, as OpenAI does for a call
 *   forced by a named tool_choice (vLLM too);
 * - `tool-patch`: like `tool`, but a call of `apply_patch` with `{ input: PATCH }` (a custom tool's
 *   function), non-ASCII escaped as Python's json.dumps writes it (vLLM), streamed in 7-character
 *   pieces that split the escapes;
 * - `tool-think`: like `tool`, answering as DeepSeek's thinking mode does: with `reasoning_content`
 *   (THOUGHT), and a 400 for history with an assistant tool-call message that does not send it back;
 * - `tool-cut`, `tool-cut-member`: like `tool`, but cut by the output limit (`length`) in the call's
 *   first string value (`{"city":"Paris, Fran`), or in its second member (`{"city":"Paris","unit":"cel`);
 * - `tool-badargs`: like `tool`, but the call's arguments are no JSON (`{"city": "Par`), a model's glitch;
 * - `tool-noargs`: like `tool`, but a call of `list_all` whose arguments are an empty string, or
 *   (streamed) never sent, as some OpenAI-compatible servers do for a call without arguments;
 * - `status-<code>` (or `status-<code>.<anything>`, another upstream model alike): an OpenAI error body with that status (429 adds Retry-After: 7);
 * - `echo-key-<code>` (or `echo-key-<code>.<anything>`, another upstream model alike): an error with that status whose message repeats the credential it was sent, as
 *   LiteLLM-style proxies do (`Received API Key = sk-…`);
 * - `midstream-echo-key` (streams): one chunk, then (50 ms later) an error event whose message
 *   repeats the credential, and the end of the response;
 * - `quota`: OpenAI's 429 `insufficient_quota` (the account is out of credit), with Retry-After: 7;
 * - `quota-credit`: the same 429 of type `insufficient_quota`, its code naming why (`credit_balance_exhausted`);
 * - `billing-hard-limit`: OpenAI's 400 `billing_hard_limit_reached`;
 * - `invalid-<param>`: a 400 naming that parameter;
 * - `own-code`: a 400 whose `error.code` is the server's own and new each time (`vendor_code_<n>`), as
 *   vLLM and proxies choose theirs;
 * - `slow-<ms>`: waits before answering;
 * - `held-<tag>`: waits until the test calls `release(tag, status)`, then answers as `ok` or, given a
 *   status, with its error; once released, the tag answers at once, as `ok` (until `holdAgain(tag)`);
 *   `held-tool-<tag>` answers as `tool`;
 * - `hang`: never answers (until the client gives up);
 * - `hang-over-<n>`: like `ok`, but a prompt (its messages' text) of more than n characters is never answered (until the
 *   client gives up): an upstream that is up, whose answer to a huge prompt takes longer than the gateway waits;
 * - `fail-over-<n>`: like `ok`, but a prompt of more than n characters is answered 500, 300 ms on: an upstream that is up,
 *   and fails on some prompts (Gemini's 500 for an input too long), each failure taking a moment;
 * - `reset`: destroys the socket without answering;
 * - `cut`: starts a stream, sends two chunks, then destroys the socket;
 * - `stall`: starts a stream, sends two chunks, then goes silent with the connection open;
 * - `html-502`: a proxy's HTML error page;
 * - `too-long`: OpenAI's 400 `context_length_exceeded` for a prompt over the context window;
 * - `window-<n>`: like `ok`, but a prompt (its messages' text) of more than n characters is OpenAI's 400
 *   `context_length_exceeded` for an n-token window: a tokenizer that spends a token on every character;
 * - `cap-<n>`: like `ok`, but a `max_tokens` (or `max_completion_tokens`) above n is OpenAI's 400 for a
 *   completion budget over the model's output cap ("max_tokens is too large: …");
 * - `no-usage`: like `ok` but never reports usage (not even when a stream asks);
 * - `reasoning`: usage with cached prompt tokens and reasoning tokens;
 * - `audio-counted`: like `ok`, with usage that counts audio prompt and completion tokens (AUDIO_USAGE);
 * - `total-only-usage`: usage with `total_tokens` alone;
 * - `usage-<kind>`: usage that is not to be believed (BAD_USAGE: negative, fractional, a negative cache
 *   write, 1e15 output tokens), or (`usage-dscache`) DeepSeek's `prompt_cache_hit_tokens` alone;
 * - `groq-usage`: `"usage": null` followed by a server's own object (Groq's `x_groq`);
 * - `once-429-<tag>`: a 429 with Retry-After: 1 the first time that exact model id is asked, then success;
 * - `strict`: like `ok`, but a message with a field OpenAI does not define is a 400, as OpenAI
 *   answers one (Mistral: 422 extra_forbidden);
 * - `mistral`: like `ok`, but shaped like Mistral's API: a field it does not define (top-level:
 *   `stream_options`, `max_completion_tokens`, `user`, `safety_identifier`, `service_tier`, `verbosity`, …; in a message or a tool call: `refusal`,
 *   `extra_content`, …) is its 422 `extra_forbidden`, and a stream reports usage on its finish
 *   chunk, unasked;
 * - `neverclose`: a whole stream, through `[DONE]`, whose response is never ended;
 * - `pings-<n>`: `: ping` SSE comments only, `n` of them 100 ms apart, then the connection is dropped;
 * - `unframed`: a 200 event stream whose body (9 MiB) holds no blank line, the response never ended;
 * - `garbage-first`: a 200 event stream whose first (and only) event's data is not JSON, then `[DONE]`;
 * - `garbage-mid`: a stream of two chunks, then an event whose data is not JSON, then the rest through `[DONE]`;
 * - `null-mid`, `choices-string-mid`, `html-mid`, `cut-chunk-mid`, `word-mid`: the same with `data: null` (JSON, but
 *   no object), `data: {"choices":"x"}` (an object, but no chunk), a proxy's page, a chunk cut short or a bare word
 *   for that event (MID_EVENTS); `mid`: with what the test set in `mid`;
 * - `first-null`, `first-empty`, `first-no-choices`, `first-unnamed`, `first-call-id-number`: like `ok`, but the stream
 *   opens with an event that is JSON yet no whole chunk (ODD_FIRST_EVENTS);
 * - `opening` (streams): opens with what the test set in `opening` (raw SSE text), then, if it says so, goes on as `ok`;
 * - `refusal`: the model refuses: `message.refusal` (a stream: `delta.refusal`), no content, `finish_reason: stop`;
 * - `midstream-<code>`: a stream that sends a chunk, then an error event with that `code` (a number: vLLM's
 *   `{"object": "error", "code": n}`);
 * - `late-<ms>`: like `ok`, but the stream opens with Azure's prompt-filter chunk (`choices: []`) and the role
 *   chunk, then waits `ms` before the first token;
 * - `dated`: like `ok`, but the answer names the dated version that answered (`dated-2024-07-18`), as OpenAI does;
 *   (any model) a request with `service_tier` is answered with the tier that served it (servedTier), as OpenAI's are;
 * - `audio`: an answer to `modalities: ["text","audio"]` as OpenAI gives it: no content, `message.audio` (AUDIO: its id, base64
 *   data, transcript and expiry); streamed as OpenAI streams it: the id with the transcript's first piece, the rest of the
 *   transcript, the data in pieces, then `expires_at` alone; `audio-expired`: the same, its audio expired (in 2020);
 * - `cited`: like `ok`, with a web search's url_citation annotations (CITATIONS); streamed in a delta of their own after the text;
 *   `cited-every`: the same, streamed as Perplexity and OpenRouter do: every content chunk carries the list so far;
 * - `drawn`: like `ok`, with a picture in `message.images` (DRAWN), as OpenRouter's image models answer; streamed in a
 *   delta of its own after the text;
 * - `length`: like `ok`, but cut by the output limit (`finish_reason: length`);
 * - `parallel-noindex`, `parallel-sameindex` (streams): two parallel calls (PARALLEL_CALLS), each with its own id, their
 *   fragments without `index` (Mistral, Gemini's OpenAI-compatible endpoint) or all with `index: 0` (Ollama).
 *
 * Any model, a `file` part naming a file id that starts `file-missing`: OpenAI's 404 "No such File object: <id>".
 *
 * Embeddings: every model answers [0.5, -0.25, 0.125] for each input, but `embed-<shape>`, whose input i
 * gets [i + 1, 1, 1, …], `dimensions` wide (else 3), and usage of a token an input, in the answer `shape`
 * says: `embed-ok` as asked; `embed-short` one vector fewer; `embed-extra` one more; `embed-empty-vector`,
 * `embed-text-vector` the first vector empty, or with a string in it; `embed-no-data`, `embed-empty-data`
 * no `data`, or an empty one; `embed-reversed` in reverse order (their `index` kept); `embed-wide` 3
 * dimensions whatever was asked; `embed-no-usage` without usage; `embed-null-usage` with `"usage":null` last,
 * `embed-null-usage-first` with it first; `embed-huge-usage` 100,000,002 prompt tokens.
 */
export class FakeOpenAI extends FakeUpstream {
  private readonly seen = new Set<string>();
  private ownCodes = 0;
  private readonly holds = new Map<string, { released: Promise<number | undefined>; release: (status?: number) => void }>();
  private readonly released = new Set<string>();
  /** How the `opening` model's stream starts: `text` as it is, then (with `answer`) the `ok` stream, else the end of the response. */
  opening = { text: '', answer: true };
  /** The data of the event the `mid` model's stream sends after two chunks (as the `…-mid` models do theirs). */
  mid = '{}';

  /** Answers the requests held for `held-<tag>` (with `status`'s error when given) and every later one at once. */
  release(tag: string, status?: number): void {
    this.released.add(tag);
    this.hold(tag).release(status);
  }

  /**
   * Holds `held-<tag>` requests again, as before the first `release(tag)`; returns what answers those
   * held until now (`release` then answers only the later ones).
   */
  holdAgain(tag: string): (status?: number) => void {
    const held = this.hold(tag);
    this.released.delete(tag);
    this.holds.delete(tag);
    return held.release;
  }

  private hold(tag: string) {
    let hold = this.holds.get(tag);
    if (!hold) {
      let release!: (status?: number) => void;
      const released = new Promise<number | undefined>((r) => (release = r));
      this.holds.set(tag, (hold = { released, release }));
    }
    return hold;
  }

  override async start(): Promise<string> {
    return `${await super.start()}/v1`;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    const model = String(body.model ?? '');
    if (req.url === '/v1/models') return json(res, 200, { object: 'list', data: [{ id: 'ok', object: 'model', owned_by: 'fake' }] });
    const missing = missingFileId(body);
    if (missing) {
      const error = { message: `No such File object: ${missing}`, type: 'invalid_request_error', param: 'id', code: null };
      return json(res, 404, { error });
    }
    if (model.startsWith('slow-')) await sleep(Number(model.slice(5)));
    if (model.startsWith('held-') && !this.released.has(model.slice(5))) {
      const status = await this.hold(model.slice(5)).released;
      if (status) return errorResponse(res, status);
    }
    if (model === 'hang') return;
    if (model.startsWith('hang-over-') && promptChars(body) > Number(model.slice(10))) return;
    if (model.startsWith('fail-over-') && promptChars(body) > Number(model.slice(10))) {
      await sleep(300);
      return errorResponse(res, 500);
    }
    if (model === 'reset') return void req.socket.destroy();
    if (model === 'html-502') {
      res.writeHead(502, { 'content-type': 'text/html' });
      return void res.end('<html><body>Bad Gateway</body></html>');
    }
    if (model.startsWith('status-')) return errorResponse(res, Number.parseInt(model.slice(7), 10));
    if (model === 'too-long') {
      const message =
        "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.";
      return json(res, 400, { error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
    }
    const window = model.startsWith('window-') ? Number(model.slice(7)) : Infinity;
    const prompt = window < Infinity ? promptChars(body) : 0;
    if (prompt > window) {
      const message = `This model's maximum context length is ${window} tokens. However, your messages resulted in ${prompt} tokens. Please reduce the length of the messages.`;
      return json(res, 400, { error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } });
    }
    if (model.startsWith('cap-')) {
      const cap = Number(model.slice(4));
      const param = body.max_completion_tokens === undefined ? 'max_tokens' : 'max_completion_tokens';
      const asked = Number(body[param]);
      if (asked > cap) {
        const message = `${param} is too large: ${asked}. This model supports at most ${cap} completion tokens, whereas you provided ${asked}.`;
        return json(res, 400, { error: { message, type: 'invalid_request_error', param, code: null } });
      }
    }
    if (model.startsWith('echo-key-')) {
      const message = `Authentication Error, Received API Key = ${String(req.headers.authorization).slice(7)}`;
      return json(res, Number.parseInt(model.slice(9), 10), { error: { message, type: 'auth_error', param: null, code: null } });
    }
    if (model === 'midstream-echo-key' && body.stream) return midStreamKeyError(res, String(req.headers.authorization).slice(7));
    if (model === 'quota') {
      const error = { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' };
      return json(res, 429, { error }, { 'retry-after': '7' });
    }
    if (model === 'quota-credit') {
      const message = 'You exceeded your current quota, please check your plan and billing details.';
      return json(res, 429, { error: { message, type: 'insufficient_quota', param: null, code: 'credit_balance_exhausted' } });
    }
    if (model === 'billing-hard-limit') {
      const message = 'Billing hard limit has been reached';
      return json(res, 400, { error: { message, type: 'invalid_request_error', param: null, code: 'billing_hard_limit_reached' } });
    }
    if (model.startsWith('invalid-')) {
      const param = model.slice(8);
      return json(res, 400, {
        error: { message: `Invalid value for '${param}'.`, type: 'invalid_request_error', param, code: 'invalid_value' },
      });
    }
    if (model === 'own-code') {
      const error = {
        message: 'Refused by the server.',
        type: 'invalid_request_error',
        param: null,
        code: `vendor_code_${++this.ownCodes}`,
      };
      return json(res, 400, { error });
    }
    if (model.startsWith('once-429-') && !this.seen.has(model)) {
      this.seen.add(model);
      return json(
        res,
        429,
        { error: { message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
        { 'retry-after': '1' },
      );
    }
    const extra = model === 'strict' ? extraMessageField(body) : undefined;
    if (extra) {
      const message = `Additional properties are not allowed ('${extra.field}' was unexpected) - '${extra.param}'`;
      return json(res, 400, { error: { message, type: 'invalid_request_error', param: extra.param, code: null } });
    }
    const unreasoned = model === 'tool-think' ? callWithoutReasoning(body) : -1;
    if (unreasoned >= 0) {
      const message = `Missing \`reasoning_content\` field in the assistant message at message index ${unreasoned}.`;
      return json(res, 400, { error: { message, type: 'invalid_request_error', param: null, code: 'invalid_request_error' } });
    }
    const forbidden = model === 'mistral' ? mistralExtras(body) : [];
    if (forbidden.length) {
      const detail = forbidden.map((loc) => ({ type: 'extra_forbidden', loc: ['body', ...loc], msg: 'Extra inputs are not permitted' }));
      return json(res, 422, { object: 'error', message: { detail }, type: 'invalid_request_error', param: null, code: null });
    }
    if (model.startsWith('pings-')) return pings(res, Number(model.slice(6)));
    if (model === 'unframed') return unframed(res);
    if (model === 'garbage-first') return sse(res, ['data: {not json\n\n', 'data: [DONE]\n\n']);
    if (model === 'opening' && body.stream && !this.opening.answer) return sse(res, this.opening.text ? [this.opening.text] : []);
    if (model.startsWith('midstream-') && body.stream) return midStreamError(res, model.slice(10));
    if (model.startsWith('parallel-') && body.stream) return parallelCalls(res, model === 'parallel-sameindex');
    if (req.url === '/v1/embeddings') return json(res, 200, embeddings(body));
    if (body.stream) return stream(res, body, model, model === 'opening' ? this.opening.text : '', model === 'mid' ? this.mid : undefined);
    return json(res, 200, completion(body, model));
  }
}

/**
 * The id of a `file` part's file the fake does not hold (those starting `file-missing`; it holds any other), which
 * OpenAI answers with its 404 "No such File object: <id>", as its Files API does.
 */
function missingFileId(body: Record<string, unknown>): string | undefined {
  const parts = ((body.messages ?? []) as { content?: unknown }[]).flatMap((m) => (Array.isArray(m.content) ? m.content : []));
  const ids = parts.map((p: { type?: string; file?: { file_id?: string } }) => (p.type === 'file' ? p.file?.file_id : undefined));
  return ids.find((id) => id?.startsWith('file-missing'));
}

const ERROR_TYPES: Record<number, [string, string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'],
  500: ['server_error', null],
  503: ['server_error', null],
};

/** The fields of a chat message, any role, in OpenAI's API reference. */
const MESSAGE_FIELDS = new Set(['role', 'content', 'name', 'tool_calls', 'tool_call_id', 'refusal', 'audio', 'function_call']);

/** The top-level fields of Mistral's chat completion request, in its API reference (its SDK's ChatCompletionRequest, 2026). */
const MISTRAL_FIELDS = new Set([
  'model',
  'messages',
  'temperature',
  'top_p',
  'max_tokens',
  'stream',
  'stop',
  'random_seed',
  'response_format',
  'tools',
  'tool_choice',
  'presence_penalty',
  'frequency_penalty',
  'n',
  'prediction',
  'parallel_tool_calls',
  'prompt_mode',
  'safe_prompt',
  'metadata',
  'reasoning_effort',
  'guardrails',
  'prompt_cache_key',
]);

/** The fields of each role's message, and of a tool call, in Mistral's API reference (its SDK's request models). */
const MISTRAL_MESSAGE_FIELDS: Record<string, Set<string>> = {
  system: new Set(['role', 'content']),
  user: new Set(['role', 'content']),
  assistant: new Set(['role', 'content', 'tool_calls', 'prefix']),
  tool: new Set(['role', 'content', 'tool_call_id', 'name']),
};
const MISTRAL_CALL_FIELDS = new Set(['id', 'type', 'function', 'index']);

/** Where a body has what Mistral does not define, as its 422 locates them (after `body`). */
function mistralExtras(body: Record<string, unknown>): (string | number)[][] {
  const extras: (string | number)[][] = Object.keys(body)
    .filter((key) => !MISTRAL_FIELDS.has(key))
    .map((key) => [key]);
  ((body.messages ?? []) as { role: string; tool_calls?: object[] }[]).forEach((message, i) => {
    const at = ['messages', i, message.role];
    const fields = MISTRAL_MESSAGE_FIELDS[message.role] ?? new Set();
    for (const key of Object.keys(message)) if (!fields.has(key)) extras.push([...at, key]);
    (message.tool_calls ?? []).forEach((call, j) => {
      for (const key of Object.keys(call)) if (!MISTRAL_CALL_FIELDS.has(key)) extras.push([...at, 'tool_calls', j, key]);
    });
  });
  return extras;
}

function extraMessageField(body: Record<string, unknown>): { field: string; param: string } | undefined {
  for (const [i, message] of ((body.messages ?? []) as object[]).entries()) {
    const field = Object.keys(message).find((key) => !MESSAGE_FIELDS.has(key));
    if (field) return { field, param: `messages.${i}` };
  }
  return undefined;
}

/** The reasoning `tool-think` answers with. */
export const THOUGHT = 'The weather needs a lookup.';

/** The index of the first assistant message with tool calls but no reasoning_content, or -1. */
function callWithoutReasoning(body: Record<string, unknown>): number {
  return ((body.messages ?? []) as Record<string, unknown>[]).findIndex(
    (m) => m.role === 'assistant' && m.tool_calls !== undefined && m.reasoning_content === undefined,
  );
}

function errorResponse(res: ServerResponse, status: number): void {
  const [type, code] = ERROR_TYPES[status] ?? ['server_error', null];
  const headers: Record<string, string> = status === 429 ? { 'retry-after': '7' } : {};
  const message = status === 400 ? "Invalid value for 'temperature'." : `fake upstream error ${status}`;
  json(res, status, { error: { message, type, param: status === 400 ? 'temperature' : null, code } }, headers);
}

const USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
const REASONING_USAGE = {
  prompt_tokens: 1000,
  completion_tokens: 500,
  total_tokens: 1500,
  prompt_tokens_details: { cached_tokens: 400 },
  completion_tokens_details: { reasoning_tokens: 300 },
};

/** What OpenAI's audio models report: audio tokens among the prompt's and the completion's. */
export const AUDIO_USAGE = {
  prompt_tokens: 1000,
  completion_tokens: 800,
  total_tokens: 1800,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 900 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 700 },
};

/** The usages of `usage-<kind>` models. */
const BAD_USAGE: Record<string, object> = {
  'usage-negative': { prompt_tokens: -5, completion_tokens: 7, total_tokens: 2 },
  'usage-fraction': { prompt_tokens: 1000.5, completion_tokens: 7, total_tokens: 1007.5 },
  'usage-neg-write': {
    prompt_tokens: 1000,
    completion_tokens: 7,
    total_tokens: 1007,
    prompt_tokens_details: { cache_write_tokens: -1000 },
  },
  'usage-huge': { prompt_tokens: 11, completion_tokens: 1e15, total_tokens: 1e15 + 11 },
  'usage-dscache': {
    prompt_tokens: 1000,
    completion_tokens: 7,
    total_tokens: 1007,
    prompt_cache_hit_tokens: 400,
    prompt_cache_miss_tokens: 600,
  },
};

function usageFor(model: string): object | null | undefined {
  if (Object.hasOwn(BAD_USAGE, model)) return BAD_USAGE[model];
  if (model === 'no-usage') return undefined;
  if (model === 'total-only-usage') return { total_tokens: 1500 };
  if (model === 'groq-usage') return null;
  if (model === 'audio-counted') return AUDIO_USAGE;
  return model === 'reasoning' ? REASONING_USAGE : USAGE;
}

function lastUserText(body: Record<string, unknown>): string {
  const messages = (body.messages ?? []) as { role: string; content: unknown }[];
  const last = messages[messages.length - 1];
  if (Array.isArray(last?.content))
    return (last.content as { type: string; text?: string }[]).map((p) => (p.type === 'text' ? p.text : '')).join('');
  return typeof last?.content === 'string' ? last.content : '';
}

type Message = { role: string; content: unknown; tool_call_id?: string };

/** The tool messages that end the conversation, if any. */
function toolResults(body: Record<string, unknown>): Message[] {
  const messages = (body.messages ?? []) as Message[];
  let first = messages.length;
  while (first > 0 && messages[first - 1].role === 'tool') first--;
  return messages.slice(first);
}

const callsTools = (model: string) =>
  model === 'tool' || model.startsWith('tool-') || model.startsWith('call-') || model.startsWith('held-tool-');

function answerText(body: Record<string, unknown>, model: string): string {
  const results = callsTools(model) ? toolResults(body) : [];
  if (results.length) return `tool results: ${results.map((r) => `${r.tool_call_id}=${JSON.stringify(r.content)}`).join('; ')}`;
  return `fake answer to: ${lastUserText(body)}`;
}

function callsTool(body: Record<string, unknown>, model: string): boolean {
  return callsTools(model) && toolResults(body).length === 0;
}

/** The finish reason of an answer: OpenAI's for a tool call, or what `tool-stop` says. */
function finishOf(body: Record<string, unknown>, model: string): string {
  if (model === 'length') return 'length';
  if ((model === 'tool-cut' || model === 'tool-cut-member') && callsTool(body, model)) return 'length';
  return callsTool(body, model) && model !== 'tool-stop' ? 'tool_calls' : 'stop';
}

/** The call a tool-calling model makes, its arguments in the pieces a stream sends. */
function toolCall(body: Record<string, unknown>, model: string): { name: string; pieces: string[] } {
  if (model === 'tool-noargs') return { name: 'list_all', pieces: [] };
  // Cut by the output limit mid-arguments (finishOf: length).
  if (model === 'tool-cut') return { name: 'get_weather', pieces: ['{"city":"Pa', 'ris, Fran'] };
  if (model === 'tool-cut-member') return { name: 'get_weather', pieces: ['{"city":"Paris",', '"unit":"cel'] };
  if (model === 'tool-badargs') return { name: 'get_weather', pieces: ['{"city', '": "Par'] };
  if (model === 'tool-first') return { name: (body.tools as { function: { name: string } }[])[0].function.name, pieces: ['{}'] };
  if (model === 'tool-patch') return { name: 'apply_patch', pieces: pieces(asciiJson({ input: PATCH }), 7) };
  if (!model.startsWith('call-')) return { name: 'get_weather', pieces: ['{"ci', 'ty":"Pa', 'ris","unit', '":"celsius"}'] };
  const user = ((body.messages ?? []) as Message[]).filter((m) => m.role === 'user').pop();
  const query = lastUserText({ messages: user ? [user] : [] })
    .trim()
    .split('\n')
    .pop();
  return { name: model.slice(5), pieces: pieces(JSON.stringify({ query }), 16) };
}

/** JSON with every non-ASCII UTF-16 unit escaped (`\u00e9`, a surrogate pair as two escapes). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The model an answer names: the id asked for, but `dated` names its dated version. */
function answeredAs(model: string): string {
  return model === 'dated' ? 'dated-2024-07-18' : model;
}

/** The `refusal` model's answer. */
export const REFUSAL = "I'm sorry, I can't help with that request.";

/**
 * The `audio` model's answer to `prompt`: 40,000 characters of base64 data (more than one piece of a stream); the
 * `audio-expired` model's expired in 2020.
 */
export function audioAnswer(prompt: string, model = 'audio') {
  const data = Buffer.from(`spoken: ${prompt} `.repeat(30_000).slice(0, 30_000)).toString('base64');
  const expires_at = model === 'audio-expired' ? 1_600_000_000 : 1_900_000_000;
  return { id: 'audio_fake_1', data, transcript: `spoken answer to: ${prompt}`, expires_at };
}

/** The `cited` model's annotations (a web search's), as OpenAI gives them. */
export const CITATIONS = [
  { type: 'url_citation', url_citation: { url: 'https://example.com/a', title: 'Source A', start_index: 0, end_index: 4 } },
  { type: 'url_citation', url_citation: { url: 'https://example.com/b', title: 'Source B', start_index: 5, end_index: 11 } },
];

/** The `drawn` model's pictures, as OpenRouter gives an image model's. */
export const DRAWN = [{ type: 'image_url', image_url: { url: `data:image/png;base64,${Buffer.from('fake png').toString('base64')}` } }];

/** What OpenAI's answers carry on every message beside the answer itself. */
const OPENAI_MESSAGE_EXTRAS = { refusal: null, annotations: [] };

function completion(body: Record<string, unknown>, model: string) {
  const extras = model === 'mistral' ? {} : OPENAI_MESSAGE_EXTRAS;
  const call = callsTool(body, model) ? toolCall(body, model) : undefined;
  const message = call
    ? {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_fake_1', type: 'function', function: { name: call.name, arguments: call.pieces.join('') } }],
        ...extras,
      }
    : { role: 'assistant', content: answerText(body, model), ...extras };
  if (model === 'tool-think') Object.assign(message, { reasoning_content: THOUGHT });
  if (model === 'refusal') Object.assign(message, { content: null, refusal: REFUSAL });
  if (model.startsWith('audio')) Object.assign(message, { content: null, audio: audioAnswer(lastUserText(body), model) });
  if (model === 'cited' || model === 'cited-every') Object.assign(message, { annotations: CITATIONS });
  if (model === 'drawn') Object.assign(message, { images: DRAWN });
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: answeredAs(model),
    choices: [{ index: 0, message, finish_reason: finishOf(body, model), logprobs: null }],
    usage: usageFor(model),
    ...servedTier(body),
    ...(model === 'groq-usage' && { x_groq: { id: 'req_fake', usage: { queue_time: 0.01, prompt_time: 0.002 } } }),
  };
}

/** The tier OpenAI says served a request that asked for one: `fast` is served as `priority`, `auto` as `default`. */
function servedTier(body: Record<string, unknown>): { service_tier?: string } {
  const asked = body.service_tier;
  if (typeof asked !== 'string') return {};
  return { service_tier: asked === 'fast' ? 'priority' : asked === 'auto' ? 'default' : asked };
}

/** The first events of the `first-…` models' streams, before the `ok` stream: JSON, but not a whole chunk. */
const ODD_FIRST_EVENTS: Record<string, string> = {
  'first-null': 'null',
  'first-empty': '{}',
  'first-no-choices': '{"choices":[]}',
  'first-unnamed': JSON.stringify({
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta: { role: 'assistant' }, finish_reason: null }],
  }),
  // A tool call whose id is a number: no chunk (the Messages codec threw a TypeError on it).
  'first-call-id-number': JSON.stringify({
    choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 5, type: 'function', function: { name: 'f', arguments: '' } }] } }],
  }),
};

/** The data of the event the `…-mid` models send after two chunks, by model. */
const MID_EVENTS: Record<string, string> = {
  'garbage-mid': '{not json',
  'null-mid': 'null',
  'choices-string-mid': '{"choices":"x"}',
  // What proxies and broken servers put in an event: a page, a chunk cut short, a bare word.
  'html-mid': '<html><body><h1>502 Bad Gateway</h1></body></html>',
  'cut-chunk-mid': '{"id":"chatcmpl-fake","choices":[{"index":0,"delta":{"content":"Hel',
  'word-mid': 'oops',
};

async function stream(res: ServerResponse, body: Record<string, unknown>, model: string, opening = '', mid?: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  if (Object.hasOwn(ODD_FIRST_EVENTS, model)) res.write(`data: ${ODD_FIRST_EVENTS[model]}\n\n`);
  if (opening) res.write(opening);
  const base = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: answeredAs(model),
    ...servedTier(body),
  };
  const send = (choices: unknown[], usage: unknown = null, extra: object = {}) =>
    res.write(`data: ${JSON.stringify({ ...base, choices, usage, ...extra })}\n\n`);
  if (model.startsWith('late-')) send([], null, { prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] });
  send([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  if (model.startsWith('late-')) await sleep(Number(model.slice(5)));
  if (model === 'tool-think') send([{ index: 0, delta: { reasoning_content: THOUGHT }, finish_reason: null }]);
  if (model === 'refusal') {
    for (const part of pieces(REFUSAL, 10)) send([{ index: 0, delta: { refusal: part }, finish_reason: null }]);
    send([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    return void res.end('data: [DONE]\n\n');
  }
  const tool = callsTool(body, model) ? toolCall(body, model) : undefined;
  if (model.startsWith('audio')) {
    const { id, data, transcript, expires_at } = audioAnswer(lastUserText(body), model);
    const [first, ...rest] = transcript.split(/(?<= )/);
    const audio = [{ id, transcript: first }, ...rest.map((t) => ({ transcript: t })), ...pieces(data, 16_384).map((d) => ({ data: d }))];
    for (const part of [...audio, { expires_at }]) send([{ index: 0, delta: { audio: part }, finish_reason: null }]);
  } else if (tool) {
    send([
      {
        index: 0,
        delta: {
          tool_calls: [
            {
              index: 0,
              id: 'call_fake_1',
              type: 'function',
              function: { name: tool.name, ...(tool.pieces.length > 0 && { arguments: '' }) },
            },
          ],
        },
        finish_reason: null,
      },
    ]);
    for (const part of tool.pieces) {
      send([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] }, finish_reason: null }]);
    }
  } else {
    const words = answerText(body, model).split(/(?<= )/);
    for (let i = 0; i < words.length; i++) {
      if (model === 'cut' && i === 2) {
        await sleep(50); // let the first chunks leave before the connection dies
        return void res.destroy();
      }
      if (model === 'stall' && i === 2) return;
      const midData = mid ?? (Object.hasOwn(MID_EVENTS, model) ? MID_EVENTS[model] : undefined);
      if (midData !== undefined && i === 2) {
        await sleep(50); // the first chunks leave on their own: the bad event comes after the stream began
        res.write(`data: ${midData}\n\n`);
      }
      if (model.startsWith('drip-')) await sleep(Number(model.slice(5)));
      if (res.destroyed) return;
      const cited = model === 'cited-every' && { annotations: CITATIONS };
      send([{ index: 0, delta: { content: words[i], ...cited }, finish_reason: null }]);
    }
    if (model === 'cited') send([{ index: 0, delta: { annotations: CITATIONS }, finish_reason: null }]);
    if (model === 'drawn') send([{ index: 0, delta: { images: DRAWN }, finish_reason: null }]);
  }
  const usage = usageFor(model);
  send([{ index: 0, delta: {}, finish_reason: finishOf(body, model) }], model === 'mistral' ? usage : null);
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage && usage) send([], usage);
  if (model === 'neverclose') return void res.write('data: [DONE]\n\n');
  res.end('data: [DONE]\n\n');
}

async function midStreamKeyError(res: ServerResponse, key: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const delta = { role: 'assistant', content: 'fake ' };
  const chunk = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, choices: [{ index: 0, delta }] };
  res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  await sleep(50); // the chunk leaves on its own, so the error comes after the stream began
  const error = { message: `Upstream failed. Received API Key = ${key}`, type: 'server_error', param: null, code: 'upstream_failed' };
  res.end(`data: ${JSON.stringify({ error })}\n\n`);
}

/** An event stream of `events`, each written on its own, 20 ms apart. */
async function sse(res: ServerResponse, events: string[]): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const event of events) {
    if (res.destroyed) return;
    res.write(event);
    await sleep(20);
  }
  res.end();
}

/** A chunk, then an error event with `code` (a number: vLLM's shape, the code its HTTP status). */
async function midStreamError(res: ServerResponse, code: string): Promise<void> {
  const chunk = {
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    choices: [{ index: 0, delta: { role: 'assistant', content: 'fake ' } }],
  };
  const error = /^\d+$/.test(code)
    ? { object: 'error', message: 'The server failed.', type: 'BadRequestError', code: Number(code) }
    : { error: { message: 'The server failed.', type: 'server_error', param: null, code } };
  await sse(res, [`data: ${JSON.stringify(chunk)}\n\n`, `data: ${JSON.stringify(error)}\n\n`]);
}

/** The calls the `parallel-…` models make, as the client should get them. */
export const PARALLEL_CALLS = [
  { call_id: 'call_par_0', name: 'get_weather', arguments: '{"city":"Paris"}' },
  { call_id: 'call_par_1', name: 'get_time', arguments: '{"city":"Berlin"}' },
];

/** PARALLEL_CALLS streamed without `index` (or, `sameIndex`, all with 0), each call's id and name on its first fragment only. */
async function parallelCalls(res: ServerResponse, sameIndex: boolean): Promise<void> {
  const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'parallel' };
  const chunk = (delta: object, finish_reason: string | null = null) =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason }] })}\n\n`;
  const index = sameIndex ? { index: 0 } : {};
  const events = [chunk({ role: 'assistant', content: '' })];
  for (const call of PARALLEL_CALLS) {
    const [first, rest] = [call.arguments.slice(0, 5), call.arguments.slice(5)];
    events.push(chunk({ tool_calls: [{ ...index, id: call.call_id, type: 'function', function: { name: call.name, arguments: first } }] }));
    events.push(chunk({ tool_calls: [{ ...index, function: { arguments: rest } }] }));
  }
  await sse(res, [...events, chunk({}, 'tool_calls'), 'data: [DONE]\n\n']);
}

async function pings(res: ServerResponse, count: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (let i = 0; i < count && !res.destroyed; i++) {
    res.write(': ping\n\n');
    await sleep(100);
  }
  res.destroy();
}

function unframed(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const line = Buffer.alloc(64 * 1024, 'x');
  for (let i = 0; i < 9 * 16; i++) res.write(line);
}

function embeddings(body: Record<string, unknown>) {
  const model = String(body.model);
  const inputs = Array.isArray(body.input) && !body.input.every((item) => typeof item === 'number') ? body.input : [body.input];
  const encode = (vector: number[]) =>
    body.encoding_format === 'base64' ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector;
  if (!model.startsWith('embed-')) {
    const data = inputs.map((_, index) => ({ object: 'embedding', index, embedding: encode([0.5, -0.25, 0.125]) }));
    return { object: 'list', data, model: body.model, usage: { prompt_tokens: 3, total_tokens: 3 } };
  }
  // The `embed-*` models: input i's vector is [i + 1, 1, 1, …], `dimensions` wide (else 3), then shaped as the model says.
  const width = model === 'embed-wide' ? 3 : ((body.dimensions as number | undefined) ?? 3);
  let data: object[] = inputs.map((_, index) => ({
    object: 'embedding',
    index,
    embedding: encode(Array.from({ length: width }, (_, k) => (k ? 1 : index + 1))),
  }));
  if (model === 'embed-short') data.pop();
  if (model === 'embed-extra') data.push({ ...data[0], index: data.length });
  if (model === 'embed-empty-vector') data[0] = { ...data[0], embedding: [] };
  if (model === 'embed-text-vector') data[0] = { ...data[0], embedding: ['x', 1, 1] };
  if (model === 'embed-reversed') data.reverse();
  if (model === 'embed-no-data') return { object: 'list', model: body.model, usage: { prompt_tokens: 3, total_tokens: 3 } };
  if (model === 'embed-empty-data') data = [];
  if (model === 'embed-null-usage') return { object: 'list', data, model: body.model, usage: null };
  if (model === 'embed-null-usage-first') return { usage: null, object: 'list', data, model: body.model };
  const usage = { prompt_tokens: model === 'embed-huge-usage' ? 100_000_002 : inputs.length, total_tokens: inputs.length };
  return { object: 'list', data, model: body.model, ...(model !== 'embed-no-usage' && { usage }) };
}

/** The characters of a chat request's messages' text (string contents and text parts), in code points. */
function promptChars(body: Record<string, unknown>): number {
  let chars = 0;
  for (const message of (body.messages ?? []) as { content?: unknown }[]) {
    const parts = Array.isArray(message.content) ? (message.content as { text?: unknown }[]).map((p) => p.text) : [message.content];
    for (const text of parts) if (typeof text === 'string') chars += [...text].length;
  }
  return chars;
}
