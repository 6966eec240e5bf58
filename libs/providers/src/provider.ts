import type { DeploymentConfig, ProviderConfig, ProviderType } from '@gateway/config';
import type { KeptAnswers } from './kept-answers';
import type { ParamTable } from './translation/params';
import type { ChatCompletionCreateParams, CompletionUsage, EmbeddingCreateParams } from './wire';

/** What a provider needs to know about the call besides the request body. */
export interface CallContext {
  /** The model id to send upstream (the public name is already resolved). */
  upstreamModel: string;
  /**
   * Aborted when the client disconnects or the deadline passes; a whole answer's (not streamed), when its client
   * disconnects before `sent` was called only (then it runs on to be billed: Executor.runWhole).
   */
  signal: AbortSignal;
  /**
   * To call once the request went upstream (undici's onRequestSent: the body written), not while it waits for one
   * of the pool's connections: a whole answer's or a stream's (chat). A call that sends nothing anywhere (the mock)
   * calls it at once.
   */
  sent?: () => void;
  requestId: string;
  /**
   * Told the upstream's own id for the request when its answer names one (OpenAI's `x-request-id`, Anthropic's
   * `request-id`), for the access line: what the vendor's logs and support know the request by.
   */
  upstreamId?: (id: string) => void;
  /** The request's own headers for the upstream: its hop count (gateway-hops.ts) and W3C trace context (`traceparent`, `tracestate`). */
  upstreamHeaders?: Readonly<Record<string, string>>;
  /** The deployment being called: per-model settings such as `maxOutputTokens` and `thinking`. */
  deployment: DeploymentConfig;
  /** The request as the client sent it in a vendor's own protocol, when it did. */
  native?: NativeRequest;
  /** The reasoning state kept for the request's tenant; unset when the feature is off. */
  reasoning?: ReasoningMemory;
  /**
   * Told, when the attempt fails, of its upstream calls that were answered all the same (a Gemini embeddings
   * request's batches answered before another failed): the vendor bills them, so the key is charged for them.
   */
  answeredInPart?: (part: AnsweredPart) => void;
  /**
   * The request's answers kept from its earlier attempts' calls that were answered in part (`answeredInPart`): an
   * attempt that would get the same answers sends only the calls they lack. Unset: every call is sent.
   */
  kept?: KeptAnswers;
}

/** Upstream calls of a failed attempt that were answered: their usage as reported (undefined: none was) and the gateway's estimate of their prompt. */
export interface AnsweredPart {
  usage?: CompletionUsage;
  promptTokens: number;
}

/**
 * What a vendor returned beside an answer's tool calls that OpenAI-format clients do not send back
 * (Claude's signed thinking blocks, the `thinking_blocks` no OpenAI field carries; Gemini's thought
 * signatures in `extra_content`), kept for one tenant by call id so the next request's tool turn gets
 * it back: thinking stays on for Claude, Gemini gets its own signature. A vendor reads only what it wrote.
 */
export interface ReasoningMemory {
  /** Keeps each call id's state (one write for the answer), in the background: a failure never reaches the answer. */
  remember(vendor: ProviderType, states: ReadonlyMap<string, unknown>): void;
  /** The state kept for those call ids that have one; unknown, expired or unreachable ones are left out. */
  recall(vendor: ProviderType, callIds: readonly string[]): Promise<ReadonlyMap<string, unknown>>;
}

/**
 * A request that arrived in a vendor's protocol (an Anthropic Messages body on
 * /v1/messages). That vendor's adapter sends it upstream as it is, so fields the
 * chat params cannot carry (cache_control, top_k, is_error…) survive; every other
 * adapter uses the translated chat params.
 */
export interface NativeRequest {
  protocol: ProviderType;
  body: Record<string, unknown>;
  /**
   * Set when the body uses what only that vendor's own API runs (Anthropic's own tools, the
   * blocks its server tools leave, a code-execution container): no translation carries it,
   * so routing keeps the request to deployments on a `protocol` provider (RequestProfile.onlyProvider).
   */
  only?: NativeOnly;
  /**
   * The client's headers of that protocol to send along, as it sent them (Anthropic's
   * `anthropic-beta`: the betas Claude Code turns on, such as interleaved thinking, and what
   * mcp_servers needs). Only that vendor's adapter sends them, and only with `body`.
   */
  headers?: Record<string, string>;
  /**
   * The most web searches the vendor may run for the request (Anthropic's web search tools'
   * `max_uses`), so a key's budget holds their price (`price.webSearch`) with the tokens'.
   */
  webSearches?: number;
  /**
   * What of the body and `headers` can change the answer but has no chat parameter (Anthropic's
   * `top_k`, `speed`, a thinking budget that maps to one reasoning effort, the betas named): part of
   * the response cache's key.
   */
  keyExtras?: Record<string, unknown>;
}

/** Why a request needs its vendor's own API, and the first param that makes it so (as `tools[0].type`). */
export interface NativeOnly {
  reason: string;
  param: string;
}

/**
 * A complete (non-streamed) OpenAI JSON response, ready to send: a `chat.completion`
 * or an embeddings list. Upstream bytes are forwarded untouched where possible.
 */
export interface JsonResult {
  body: string | Uint8Array;
  usage?: CompletionUsage;
  /**
   * The service tier the upstream says served the answer (OpenAI's `service_tier`; Anthropic's `usage.service_tier`,
   * or `fast` for its fast mode), which prices its usage.
   */
  serviceTier?: string;
  /** Set when the body is the upstream's own answer in the request's protocol (as ChatStream.native). */
  native?: ProviderType;
  /**
   * The gateway's estimate of the prompt the answer is billed for when `usage` is unset and that is not the whole
   * request's: an attempt that took earlier attempts' answers (CallContext.kept), charged as they were answered, sent
   * and is billed for the rest only.
   */
  billedPromptEstimate?: number;
}

/** A JsonResult body as text: upstream bytes are forwarded as they came, so it may be either. */
export function bodyText(body: JsonResult['body']): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

/**
 * A streamed chat completion: OpenAI SSE frames (`data: {chunk}\n\n` … `data: [DONE]\n\n`)
 * as they arrive. Iteration throws a GatewayError when the upstream fails mid-stream.
 * `usage` is filled in by the time iteration ends, when the upstream reported it.
 */
export interface ChatStream extends AsyncIterable<string | Uint8Array> {
  usage?: CompletionUsage;
  /** The service tier the upstream says served the stream (its usage chunk's `service_tier`, Anthropic's message_start usage), as JsonResult's. */
  serviceTier?: string;
  /**
   * Set once iteration starts, by upstreams that report usage while they stream (Anthropic's
   * prompt in message_start, Gemini's running counts): what was known of `usage` before it is
   * set, for a stream that ends early (a client that leaves, an upstream that cuts it).
   */
  runningUsage?: RunningUsage;
  /**
   * Set when the frames are the upstream's own event stream in the protocol the request
   * came in (`CallContext.native`), for that protocol's codec to send as they are.
   * Unset: OpenAI chat SSE frames, what every codec translates from. A cache stores neither
   * native streams nor native bodies: it replays OpenAI chat answers.
   */
  native?: ProviderType;
  /**
   * The protocol's keep-alive event (Anthropic's `ping`), which the SSE writer sends between the
   * stream's events while it is silent; only on a stream whose outputs are whole events (a codec's).
   */
  keepAlive?: string;
}

/** Usage an upstream has reported while its stream runs (ChatStream.runningUsage). */
export interface RunningUsage {
  /**
   * The usage reported so far, undefined before any. Read only when a stream ends early, so it is
   * built then, not per chunk. Its prompt counts are exact; its output counts are only once
   * `outputCounted` (Anthropic's message_start carries a placeholder output count).
   */
  soFar(): { usage: CompletionUsage; outputCounted: boolean } | undefined;
}

export interface ModelInfo {
  id: string;
  owned_by: string;
}

/** One upstream vendor account. Every vendor folder implements this. */
export interface Provider {
  readonly name: string;
  readonly type: ProviderType;
  /**
   * Sends a non-streamed chat completion. Throws GatewayError for upstream
   * failures, already mapped to the status the client should see.
   */
  chat(request: ChatCompletionCreateParams, ctx: CallContext): Promise<JsonResult>;
  /** Resolves once the upstream has accepted the stream; errors before that throw. */
  chatStream(request: ChatCompletionCreateParams, ctx: CallContext): Promise<ChatStream>;
  embeddings(request: EmbeddingCreateParams, ctx: CallContext): Promise<JsonResult>;
  /** Set when its embeddings API takes text alone, no token ids (Gemini): routing passes it over for token-id inputs. */
  readonly embedsTextOnly?: boolean;
  /**
   * The table its adapter checks a translated chat request against (translation/params.ts), set where it refuses
   * some values (Anthropic: `n` > 1, logprobs): routing passes it over for a request it would refuse when another
   * deployment of the group takes it. Unset: it refuses no parameter. Not read for a request in its own protocol
   * (NativeRequest), whose body it sends as the client wrote it.
   */
  readonly params?: ParamTable;
  /** The prompt's input tokens by the vendor's own count, where the vendor offers one (Anthropic). */
  countTokens?(request: ChatCompletionCreateParams, ctx: CallContext): Promise<number>;
  /** Models the upstream offers, for diagnostics; the public list comes from config. */
  listModels(signal: AbortSignal): Promise<ModelInfo[]>;
  close(): Promise<void>;
}

/** Builds a provider from its config; `apiKey` comes from the environment. */
export type ProviderFactory = (config: ProviderConfig, apiKey: string | undefined) => Provider;
