import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeUpstream, openSse, PATCH, pieces, sendJson, sleep } from './fake-upstream';

type Block = Record<string, unknown> & { type: string };
type MessageParam = { role: string; content: string | Block[] };

/** A Messages API answer (the fields the fake varies). */
export interface FakeMessage {
  content: Block[];
  stop_reason: string;
  stop_details?: Record<string, unknown> | null;
  usage?: Record<string, unknown>;
}

export const ANTHROPIC_USAGE = {
  input_tokens: 11,
  output_tokens: 7,
  cache_read_input_tokens: 5,
  cache_creation_input_tokens: 2,
  output_tokens_details: { thinking_tokens: 0 },
};

/** `claude-cache-write`'s usage: the prompt written to both caches, 1,000 tokens to the 5-minute one and 3,000 to the 1-hour one. */
export const CACHE_WRITE_USAGE = {
  ...ANTHROPIC_USAGE,
  cache_creation_input_tokens: 4000,
  cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 3000 },
};

/** `claude-fast`'s usage: ANTHROPIC_USAGE's counts, served in fast mode (`speed`), in the standard capacity tier. */
export const FAST_USAGE = { ...ANTHROPIC_USAGE, service_tier: 'standard', speed: 'fast' };
/** `claude-priority`'s usage: ANTHROPIC_USAGE's counts, served from the organization's Priority Tier capacity. */
export const PRIORITY_USAGE = { ...ANTHROPIC_USAGE, service_tier: 'priority', speed: 'standard' };

/** Anthropic error types and their HTTP statuses, as documented. */
export const ANTHROPIC_ERRORS: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  billing_error: 402,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  timeout_error: 504,
  overloaded_error: 529,
};

/** Anthropic's words for an account out of credit, in a 400 `invalid_request_error`. */
export const CREDIT_TOO_LOW =
  'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.';

export const WEATHER_ARGS = { city: 'Paris', unit: 'celsius', days: [1, 2, 3], note: 'say "hi" {ok}' };

/**
 * A fake Anthropic Messages API (POST /v1/messages, GET /v1/models) on 127.0.0.1.
 * It checks what the real API checks on the gateway's requests (the key, API version
 * 2026-10-21 refusing sampling parameters, max_tokens, tool_use/tool_result pairing, tool blocks
 * without tools, budget_tokens (at least 1024, under max_tokens),
 * thinking sent back without its signature, thinking on in a tool loop whose last assistant
 * message does not start with a thinking block),
 * answers by the requested model id, and streams any answer as the documented event
 * sequence (message_start, content_block_*, ping, message_delta, message_stop):
 *
 * - `claude-echo` (and unknown ids): text echoing the last user text; after a tool
 *   result, text quoting the tool results;
 * - any model, when the request declares a web_search server tool: the search Anthropic ran
 *   (server_tool_use), its results (web_search_tool_result), then text (see webSearch);
 * - `claude-tool`: one tool_use (the forced tool, else the first) with WEATHER_ARGS, after a signed
 *   thinking block when thinking is on;
 * - `claude-parallel`: text, then two tool_use blocks (after a signed thinking block when thinking is on);
 * - `claude-noargs`: a tool_use with empty input;
 * - `claude-patch`: a signed thinking block, then a tool_use of `apply_patch` with `{ input: PATCH }` (a custom tool's function);
 * - `claude-think`: a signed thinking block, then text;
 * - `claude-think-omitted-<ms>`: a thinking block with its thinking omitted (`display: "omitted"`): its start, pings
 *   for that long, its one delta the signature; then text;
 * - `claude-json`: a JSON object as text;
 * - `claude-cache-write`: the echo, with cache writes to both caches in its usage (CACHE_WRITE_USAGE);
 * - `claude-fast`, `claude-priority`: the echo, its usage saying fast mode or the Priority Tier served it (FAST_USAGE,
 *   PRIORITY_USAGE: in a whole answer's usage and a stream's message_start, not in message_delta's, as Anthropic sends them);
 * - `claude-stop-<reason>`: text ending with that stop_reason (refusal has stop_details);
 * - `claude-error-<type>`: that documented error (rate_limit_error adds retry-after: 13);
 * - `claude-too-long`: Anthropic's 400 for a prompt over the context window;
 * - `claude-credit-low`: Anthropic's 400 `invalid_request_error` for an account out of credit ("Your credit balance is too low…");
 * - `claude-spend-cap`: Anthropic's 429 `rate_limit_error` for the tier's monthly spend cap (`enforced_spend_limit_reached`, no Retry-After);
 * - `claude-cap-<n>`: echoes, but a `max_tokens` above n is Anthropic's 400 for it ("max_tokens: N > n, …");
 * - `claude-echo-key-<type>` (or `…<type>.<anything>`, another upstream model alike): that error, its message repeating the key it was sent (as some proxies do);
 * - `claude-early-error`: a stream whose first event is an overloaded `error` event;
 * - `claude-overloaded-after-start`: message_start and a ping, then an overloaded `error` event
 *   (how Anthropic reports overload on a stream it has begun);
 * - `claude-overloaded-after-block`: message_start, the first text block's (empty) content_block_start and a ping,
 *   then an overloaded `error` event, before any text;
 * - `claude-midstream-error`: an `error` event after some text;
 * - `claude-midstream-key`: the same, its message repeating the key it was sent;
 * - `claude-midstream-garbage`: events whose data is not JSON after some text;
 * - `claude-text-number`: the echo, with a text_delta whose `text` is a number after its first piece;
 * - `claude-cut`: a stream that dies before message_stop;
 * - `claude-proxy-page`: a 200 with an HTML page, as a misconfigured proxy answers, streamed or not;
 * - `claude-slow-<ms>`: waits, then echoes;
 * - `claude-drip-<ms>`: streams the echo with that pause between text pieces;
 * - `claude-neverclose`: streams the echo through message_stop, and never ends the response;
 * - `claude-unframed`: a 200 event stream whose body (1 MiB) ends no event, the response never ended;
 * - `claude-dated`: the echo, its message naming the dated version that answered (`claude-dated-20250101`);
 * - any model, a document or image whose `file` source names an id starting `file_missing`: Anthropic's 404
 *   `not_found_error` "File not found: <id>" (any other file id is held); without the Files API beta, its 400.
 */
export class FakeAnthropic extends FakeUpstream {
  constructor(private readonly apiKey: string) {
    super();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return error(res, 'authentication_error', 'invalid x-api-key');
    if (req.method === 'GET' && req.url?.startsWith('/v1/models')) {
      return sendJson(res, 200, {
        data: [{ type: 'model', id: 'claude-echo', display_name: 'Echo', created_at: '2026-01-01T00:00:00Z' }],
        has_more: false,
        first_id: 'claude-echo',
        last_id: 'claude-echo',
      });
    }
    if (req.url === '/v1/messages/count_tokens') return countTokens(res, body);
    if (req.url !== '/v1/messages') return error(res, 'not_found_error', `Not found: ${req.url}`);
    const invalid = validate(body);
    if (invalid) return error(res, 'invalid_request_error', invalid);
    const file = namedFile(body, req.headers['anthropic-beta']);
    if (file) return error(res, file.type, file.message);

    const model = String(body.model);
    if (model.startsWith('claude-slow-')) await sleep(Number(model.slice(12)));
    if (model.startsWith('claude-echo-key-')) return error(res, model.slice(16).split('.')[0], `invalid key: ${req.headers.authorization}`);
    if (model.startsWith('claude-error-')) {
      const type = model.slice(13);
      return error(res, type, `fake ${type}`, type === 'rate_limit_error' ? { 'retry-after': '13' } : {});
    }
    if (model === 'claude-too-long') return error(res, 'invalid_request_error', 'prompt is too long: 208310 tokens > 200000 maximum');
    if (model === 'claude-credit-low') return error(res, 'invalid_request_error', CREDIT_TOO_LOW);
    if (model === 'claude-spend-cap')
      return sendJson(res, 429, {
        type: 'error',
        error: {
          type: 'rate_limit_error',
          message: 'Your organization has reached its monthly spend cap.',
          details: { error_code: 'enforced_spend_limit_reached' },
        },
      });
    const cap = /^claude-cap-(\d+)$/.exec(model)?.[1];
    if (cap && (body.max_tokens as number) > Number(cap)) {
      const message = `max_tokens: ${String(body.max_tokens)} > ${cap}, which is the maximum allowed number of output tokens for ${model}`;
      return error(res, 'invalid_request_error', message);
    }
    if (model === 'claude-proxy-page') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return void res.end('<html><body>Welcome to the proxy: nothing for you here.</body></html>\n');
    }
    if (model === 'claude-unframed') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      return void res.write(`event: message_start\ndata: {"type":"message_start","message":{"id":"${'D'.repeat(1024 * 1024)}`);
    }
    if (body.stream) return stream(res, model, reply(model, body), this.apiKey);
    sendJson(res, 200, messageJson(model, reply(model, body)));
  }
}

/**
 * Fields count_tokens accepts; the real API refuses any other (max_tokens, stream, metadata…), and an
 * MCP toolset naming a server its `mcp_servers` does not define.
 */
const COUNT_TOKENS_FIELDS = new Set([
  'model',
  'messages',
  'system',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'cache_control',
  'speed',
  // Beta (BetaMessageCountTokensParams).
  'mcp_servers',
  'context_management',
  'compaction',
  'output_format',
  'billing_policy',
]);

/** Added to the prompt's size in the fake's count: a number the gateway's own estimate never gives. */
export const COUNT_TOKENS_BASE = 100_000;

function countTokens(res: ServerResponse, body: Record<string, unknown>): void {
  // A failing model (`claude-error-<type>`) fails its count too.
  const model = String(body.model);
  if (model.startsWith('claude-error-')) return error(res, model.slice(13), `fake ${model.slice(13)}`);
  const extra = Object.keys(body).find((key) => !COUNT_TOKENS_FIELDS.has(key));
  if (extra) return error(res, 'invalid_request_error', `${extra}: Extra inputs are not permitted`);
  const servers = new Set((body.mcp_servers as { name: string }[] | undefined)?.map((s) => s.name));
  const unserved = (body.tools as { type?: string; mcp_server_name?: string }[] | undefined)?.findIndex(
    (t) => t.type === 'mcp_toolset' && !servers.has(t.mcp_server_name!),
  );
  if (unserved !== undefined && unserved >= 0)
    return error(res, 'invalid_request_error', `tools.${unserved}: MCP server is not defined in mcp_servers`);
  const prompt = JSON.stringify([body.system ?? null, body.messages, body.tools ?? null]);
  sendJson(res, 200, { input_tokens: COUNT_TOKENS_BASE + prompt.length });
}

function error(res: ServerResponse, type: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(res, ANTHROPIC_ERRORS[type] ?? 500, { type: 'error', error: { type, message } }, { 'request-id': 'req_fake', ...headers });
}

/** The Files API beta a `file` source needs (without it, the API reads the block as the stable schema, which has none). */
export const FILES_BETA = 'files-api-2025-04-14';

/**
 * A `file` source (of a document or image block) the fake does not hold: Anthropic's 404 "File not found: <id>"
 * (its Files API guide); without the Files API beta, its 400 for the tag (as anthropic-sdk-go#237 shows it). The fake
 * holds every file id but those starting `file_missing`.
 */
function namedFile(body: Record<string, unknown>, beta: string | string[] | undefined): { type: string; message: string } | undefined {
  for (const [i, { content }] of (body.messages as MessageParam[]).entries()) {
    if (typeof content === 'string') continue;
    for (const [j, block] of content.entries()) {
      const source = block.source as { type?: string; file_id?: string } | undefined;
      if (source?.type !== 'file') continue;
      if (!String(beta ?? '').includes(FILES_BETA)) {
        const message = `messages.${i}.content.${j}.${block.type}.source: Input tag 'file' found using 'type' does not match any of the expected tags: 'base64', 'content', 'text', 'url'`;
        return { type: 'invalid_request_error', message };
      }
      if (String(source.file_id).startsWith('file_missing'))
        return { type: 'not_found_error', message: `File not found: ${source.file_id}` };
    }
  }
  return undefined;
}

/** The documented request rules the gateway's translation must satisfy. */
function validate(body: Record<string, unknown>): string | undefined {
  for (const removed of ['temperature', 'top_p', 'top_k']) if (removed in body) return `${removed}: Extra inputs are not permitted`;
  if (!Number.isInteger(body.max_tokens) || (body.max_tokens as number) < 1) return 'max_tokens: Field required';
  const messages = body.messages as MessageParam[];
  if (!Array.isArray(messages) || !messages.length) return 'messages: Field required';
  for (let i = 0; i < messages.length; i++) {
    const { role, content } = messages[i];
    if (role !== 'user' && role !== 'assistant') return `messages.${i}.role: Input should be 'user' or 'assistant'`;
    const blocks = typeof content === 'string' ? [] : content;
    for (const [j, block] of blocks.entries()) {
      if (block.type === 'text' && !block.text) return `messages.${i}: text content blocks must be non-empty`;
      // The real API checks each signature; the fake refuses only what no signature can be.
      if (block.type === 'thinking' && !block.signature) return `messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`;
      if (block.type === 'tool_use' && !/^[a-zA-Z0-9_-]+$/.test(String(block.id)))
        return `messages.${i}: tool_use.id: String should match pattern`;
    }
    const calls = blocks.filter((b) => b.type === 'tool_use').map((b) => b.id);
    if (role !== 'assistant' || !calls.length) continue;
    const next = messages[i + 1];
    const results = typeof next?.content === 'string' ? [] : (next?.content ?? []);
    const leading = results.slice(0, calls.length);
    if (
      next?.role !== 'user' ||
      leading.some((b) => b.type !== 'tool_result') ||
      calls.some((id) => !leading.some((b) => b.tool_use_id === id))
    ) {
      return `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${calls.join(', ')}`;
    }
  }
  const answered = messages.at(-2);
  const lead = typeof answered?.content === 'string' ? undefined : answered?.content[0];
  if (thinkingOn(body) && hasToolResults(messages.at(-1)) && lead?.type !== 'thinking' && lead?.type !== 'redacted_thinking')
    return (
      `messages.${messages.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${lead?.type}\`. ` +
      'When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the lastmost set of ' +
      '`tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous turns. To avoid this ' +
      'requirement, disable `thinking`.'
    );
  const choice = body.tool_choice as { type: string } | undefined;
  if (choice && !['auto', 'any', 'tool', 'none'].includes(choice.type)) return 'tool_choice.type: invalid';
  // Anthropic's rule for a tool's schema (anthropics/claude-code#5319).
  const combined = ((body.tools ?? []) as { input_schema?: Record<string, unknown> }[]).findIndex(
    (tool) => tool.input_schema && ['oneOf', 'allOf', 'anyOf'].some((key) => key in tool.input_schema!),
  );
  if (combined >= 0) return `tools.${combined}.custom.input_schema: input_schema does not support oneOf, allOf, or anyOf at the top level`;
  const toolBlocks = messages.some(
    (m) => typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_use' || b.type === 'tool_result'),
  );
  if (toolBlocks && !(body.tools as unknown[] | undefined)?.length)
    return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
  const thinking = body.thinking as { type: string; budget_tokens?: number } | undefined;
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens ?? 0;
    if (budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (budget >= (body.max_tokens as number)) return '`max_tokens` must be greater than `thinking.budget_tokens`';
  }
  return undefined;
}

const thinkingOn = (body: Record<string, unknown>) => {
  const type = (body.thinking as { type: string } | undefined)?.type;
  return type !== undefined && type !== 'disabled';
};

const hasToolResults = (message: MessageParam | undefined) =>
  typeof message?.content !== 'string' && (message?.content ?? []).some((b) => b.type === 'tool_result');

function textOf(content: string | Block[]): string {
  return typeof content === 'string' ? content : content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}

function reply(model: string, body: Record<string, unknown>): FakeMessage {
  const messages = body.messages as MessageParam[];
  const last = messages[messages.length - 1];
  const results = typeof last.content === 'string' ? [] : last.content.filter((b) => b.type === 'tool_result');
  if (results.length)
    return text(`tool results: ${results.map((r) => `${r.tool_use_id}=${textOf(r.content as Block[] | string)}`).join('; ')}`);
  const tools = (body.tools ?? []) as { type?: string; name: string }[];
  if (tools.some((t) => t.type?.startsWith('web_search_'))) return webSearch(textOf(last.content));
  const forced = (body.tool_choice as { name?: string } | undefined)?.name;
  if (model.startsWith('claude-think-omitted-'))
    return {
      content: [
        { type: 'thinking', thinking: '', signature: 'sig-omitted' },
        { type: 'text', text: '42' },
      ],
      stop_reason: 'end_turn',
    };
  switch (model) {
    case 'claude-tool': {
      const call = toolUse('toolu_01', forced ?? tools[0]?.name ?? 'get_weather', WEATHER_ARGS);
      const thought = { type: 'thinking', thinking: 'The weather tool knows.', signature: 'sig-tool' };
      return { content: thinkingOn(body) ? [thought, call] : [call], stop_reason: 'tool_use' };
    }
    case 'claude-parallel': {
      const thought = { type: 'thinking', thinking: 'Both tools, at once.', signature: 'sig-parallel' };
      const calls = [
        { type: 'text', text: 'Checking both.' },
        toolUse('toolu_A', 'get_weather', { city: 'Paris' }),
        toolUse('toolu_B', 'get_time', { zone: 'Europe/Paris' }),
      ];
      return { content: thinkingOn(body) ? [thought, ...calls] : calls, stop_reason: 'tool_use' };
    }
    case 'claude-noargs':
      return { content: [toolUse('toolu_N', 'ping', {})], stop_reason: 'tool_use' };
    case 'claude-patch':
      return {
        content: [
          { type: 'thinking', thinking: 'A patch will do.', signature: 'sig-patch' },
          toolUse('toolu_P', 'apply_patch', { input: PATCH }),
        ],
        stop_reason: 'tool_use',
      };
    case 'claude-think':
      return {
        content: [
          { type: 'thinking', thinking: 'Six times seven is forty-two.', signature: 'sig-fake-123' },
          { type: 'text', text: '42' },
        ],
        stop_reason: 'end_turn',
        usage: { ...ANTHROPIC_USAGE, output_tokens: 20, output_tokens_details: { thinking_tokens: 9 } },
      };
    case 'claude-json':
      return text('{"answer":42}');
    case 'claude-cache-write':
      return { ...text(`echo: ${textOf(last.content)}`), usage: CACHE_WRITE_USAGE };
    case 'claude-fast':
      return { ...text(`echo: ${textOf(last.content)}`), usage: FAST_USAGE };
    case 'claude-priority':
      return { ...text(`echo: ${textOf(last.content)}`), usage: PRIORITY_USAGE };
  }
  if (model.startsWith('claude-stop-')) {
    const reason = model.slice(12);
    const details = reason === 'refusal' ? { type: 'refusal', category: 'cyber', explanation: 'Not going there.' } : null;
    return { content: [{ type: 'text', text: 'partial' }], stop_reason: reason, stop_details: details };
  }
  return text(`echo: ${textOf(last.content)}`);
}

/** A web search Anthropic ran for the query, as its API answers one: the call, the results, the text written from them. */
function webSearch(query: string): FakeMessage {
  const result = {
    type: 'web_search_result',
    url: 'https://example.com/news',
    title: 'News',
    encrypted_content: 'RW5jcnlwdGVk',
    page_age: null,
  };
  return {
    content: [
      { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: { query }, caller: { type: 'direct' } },
      { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [result], caller: { type: 'direct' } },
      { type: 'text', text: `found: ${query}` },
    ],
    stop_reason: 'end_turn',
    usage: { ...ANTHROPIC_USAGE, server_tool_use: { web_search_requests: 1, web_fetch_requests: 0 } },
  };
}

function text(value: string): FakeMessage {
  return { content: [{ type: 'text', text: value }], stop_reason: 'end_turn' };
}

function toolUse(id: string, name: string, input: object): Block {
  return { type: 'tool_use', id, name, input, caller: { type: 'direct' } };
}

function messageJson(model: string, message: FakeMessage) {
  return {
    id: 'msg_fake_1',
    type: 'message',
    role: 'assistant',
    model: model === 'claude-dated' ? 'claude-dated-20250101' : model,
    content: message.content,
    stop_reason: message.stop_reason,
    stop_sequence: null,
    stop_details: message.stop_details ?? null,
    container: null,
    diagnostics: null,
    // claude-no-usage: a compatible server's answer without usage (found by an independent re-check to crash the gateway).
    ...(model !== 'claude-no-usage' && { usage: message.usage ?? ANTHROPIC_USAGE }),
  };
}

/** The answer as Anthropic streams it, tool input split into many small JSON fragments. */
async function stream(res: ServerResponse, model: string, message: FakeMessage, apiKey: string): Promise<void> {
  openSse(res);
  const send = (type: string, data: object) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  if (model === 'claude-early-error')
    return void res.end(
      `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
    );
  const usage: Record<string, unknown> = message.usage ?? ANTHROPIC_USAGE;
  const started = { ...messageJson(model, message), content: [], stop_reason: null, stop_details: null };
  send('message_start', { message: model === 'claude-no-usage' ? started : { ...started, usage: { ...usage, output_tokens: 1 } } });
  if (model === 'claude-overloaded-after-block') {
    send('content_block_start', { index: 0, content_block: { type: 'text', text: '', citations: null } });
    send('ping', {});
    return void res.end(
      `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
    );
  }
  send('ping', {});
  if (model === 'claude-overloaded-after-start')
    return void res.end(
      `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
    );
  for (const [index, block] of message.content.entries()) {
    if (block.type === 'text') {
      send('content_block_start', { index, content_block: { type: 'text', text: '', citations: null } });
      for (const [i, piece] of pieces(String(block.text), 4).entries()) {
        if (model === 'claude-midstream-error' && i === 1)
          return void res.end(
            `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })}\n\n`,
          );
        if (model === 'claude-midstream-key' && i === 1)
          return void res.end(
            `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: `Overloaded (key Bearer ${apiKey})` } })}\n\n`,
          );
        if (model === 'claude-midstream-garbage' && i === 1) return void res.end('data: {not json\n\nevent: ???\ndata: [[[\n\n');
        if (model === 'claude-text-number' && i === 1) send('content_block_delta', { index, delta: { type: 'text_delta', text: 12345 } });
        if (model === 'claude-cut' && i === 1) {
          await sleep(30);
          return void res.destroy();
        }
        if (model.startsWith('claude-drip-')) await sleep(Number(model.slice(12)));
        if (res.destroyed) return;
        send('content_block_delta', { index, delta: { type: 'text_delta', text: piece } });
      }
    } else if (block.type === 'tool_use' || block.type === 'server_tool_use') {
      send('content_block_start', { index, content_block: { ...block, input: {} } });
      const json = JSON.stringify(block.input);
      if (json !== '{}')
        for (const piece of pieces(json, 3))
          send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: piece } });
    } else if (block.type === 'thinking') {
      send('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } });
      if (model.startsWith('claude-think-omitted-'))
        for (let left = Number(model.slice(21)); left > 0 && !res.destroyed; left -= 200) {
          await sleep(200);
          send('ping', {});
        }
      for (const piece of pieces(String(block.thinking), 8))
        send('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } });
      send('content_block_delta', { index, delta: { type: 'signature_delta', signature: block.signature } });
    } else {
      // A server tool's result comes whole in its content_block_start, with no delta.
      send('content_block_start', { index, content_block: block });
    }
    send('content_block_stop', { index });
  }
  const delta = { stop_reason: message.stop_reason, stop_sequence: null, stop_details: message.stop_details ?? null, container: null };
  if (model === 'claude-no-usage') send('message_delta', { delta });
  else
    send('message_delta', {
      delta,
      usage: {
        output_tokens: usage.output_tokens,
        output_tokens_details: usage.output_tokens_details,
        input_tokens: null,
        cache_read_input_tokens: null,
        cache_creation_input_tokens: null,
        server_tool_use: usage.server_tool_use ?? null,
      },
    });
  send('message_stop', {});
  if (model !== 'claude-neverclose') res.end();
}
