// class-validator/class-transformer decorators read design-time metadata.
import 'reflect-metadata';
import {
  ArrayNotEmpty,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  MinLength,
  Max,
  Min,
} from 'class-validator';
import { IsHeaderMap } from './header-map';
import { Nested, NestedList } from './nested';
import { Price } from './price-config';
import { MAX_TIMER_MS } from './timer-limit';
import { RouterConfig, STRATEGIES, type Strategy, VirtualModelConfig } from './router-config';
import { SecurityConfig } from './security-config';
import { CacheConfig } from './cache-config';
import { IsRedisUrl, RedisConfig } from './redis-config';
import { MessagesConfig } from './messages-config';
import { MetricsConfig } from './metrics-config';
import { ResponsesConfig } from './responses-config';

export const PROVIDER_TYPES = ['openai', 'openai-compatible', 'anthropic', 'gemini', 'mock'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** OpenAI's two names for a chat request's output limit (ProviderConfig.maxTokensField). */
export const MAX_TOKENS_FIELDS = ['max_tokens', 'max_completion_tokens'] as const;
export type MaxTokensField = (typeof MAX_TOKENS_FIELDS)[number];

/**
 * What a deployment may declare. `vision`: images, and documents (PDFs), which every vendor reads with its
 * vision models (the text and an image of each page); `audio`: audio input (README, Routing: what each needs).
 */
export const CAPABILITIES = ['tools', 'vision', 'audio', 'json', 'embeddings', 'reasoning'] as const;
export type Capability = (typeof CAPABILITIES)[number];
/** Capabilities of a chat model; a deployment declaring `embeddings` may declare none of them. */
export const CHAT_CAPABILITIES: Capability[] = ['tools', 'vision', 'audio', 'json', 'reasoning'];

/**
 * What a deployment serves: embeddings when it declares `embeddings`, chat
 * otherwise. A chat deployment that declares nothing serves text chat only.
 */
export type ModelKind = 'chat' | 'embeddings';
export function deploymentKind(d: { capabilities?: Capability[] }): ModelKind {
  return d.capabilities?.includes('embeddings') ? 'embeddings' : 'chat';
}

export const THINKING_STYLES = ['adaptive', 'budget'] as const;
export type ThinkingStyle = (typeof THINKING_STYLES)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;
/** V8's longest string (2^29 - 24 UTF-16 units): an answer is parsed as text, so no longer body can be read. */
const MAX_STRING_LENGTH = 2 ** 29 - 24;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Behaviour of a `mock` provider: an offline model for demos, tests and load tests. */
export class MockBehaviour {
  /** Delay before the whole (non-streamed) answer, or before the first chunk when streaming. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) latencyMs = 0;
  /** Streaming: tokens emitted per second after the first (0 = as fast as possible). */
  @IsOptional() @IsNumber() @Min(0) tokensPerSecond = 0;
  /** Injected failure: the HTTP status returned with probability `failRate`. */
  @IsOptional() @IsInt() @Min(400) @Max(599) failStatus = 503;
  @IsOptional() @IsNumber() @Min(0) @Max(1) failRate = 0;
  /** Retry-After (seconds) sent with an injected 429. */
  @IsOptional() @IsInt() @Min(0) retryAfterSeconds = 1;
  /** Streaming: cut the stream (upstream error) after this many content chunks; 0 = never. */
  @IsOptional() @IsInt() @Min(0) cutAfterChunks = 0;
  /** Dimension of the deterministic embeddings. */
  @IsOptional() @IsInt() @Min(8) @Max(4096) embeddingDimensions = 256;
}

export class ProviderConfig {
  @IsString() @Matches(NAME) name!: string;
  @IsIn(PROVIDER_TYPES as unknown as string[]) type!: ProviderType;
  @IsOptional() @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true }) baseUrl?: string;
  /** Name of the environment variable that holds the API key; the key itself never lives in the file. */
  @IsOptional() @IsString() @Matches(ENV_NAME) apiKeyEnv?: string;
  /** Name of an environment variable that, when set, overrides `baseUrl` (applied when the config loads). */
  @IsOptional() @IsString() @Matches(ENV_NAME) baseUrlEnv?: string;
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) timeoutMs = 600_000;
  /** Kept by undici's coarse timer (ticks of ~0.5 s): it fires up to ~1 s late, and under 1 s acts as about 1 s. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) connectTimeoutMs = 10_000;
  /** Keep-alive connections kept open to this upstream. */
  @IsOptional() @IsInt() @Min(1) @Max(4096) maxConnections = 256;
  /**
   * The largest non-streamed answer read from this upstream (its body, in bytes): past it the
   * request is aborted and the answer is a 502 `upstream_invalid_response`, so an upstream that
   * never ends its body cannot grow the gateway's memory until the timeout. The default holds the
   * largest answer the gateway's request limits allow: embeddings of 2,048 inputs at 3,072
   * dimensions as pretty-printed floats, ~190 MB. At most V8's longest string, which a body is read as.
   */
  @IsOptional() @IsInt() @Min(1024) @Max(MAX_STRING_LENGTH) maxResponseBytes = 256 * 1024 * 1024;
  /** Extra headers sent upstream (e.g. OpenAI-Organization). Values are not secrets. */
  @IsOptional() @IsHeaderMap() headers?: Record<string, string>;
  /**
   * OpenAI-format providers: assistant-message fields not sent upstream, for servers that refuse
   * fields OpenAI does not define. Unset: `reasoning_content` for type openai, none otherwise.
   */
  @IsOptional() @IsArray() @Matches(/^[a-z][a-z0-9_]*$/, { each: true }) omitMessageFields?: string[];
  /**
   * OpenAI-format providers: request fields not sent upstream, for servers that refuse fields the
   * gateway writes from another API's parameters (Mistral has no `user`, which the Messages API's
   * `metadata.user_id` becomes). Unset: none.
   */
  @IsOptional() @IsArray() @Matches(/^[a-z][a-z0-9_]*$/, { each: true }) omitRequestFields?: string[];
  /**
   * OpenAI-format providers: which of the request fields that let a client pick the model served or add
   * paid features on an aggregating upstream (ROUTING_FIELDS: OpenRouter's `models`, `route`, `provider`,
   * `plugins`, `preset`) are sent upstream. Unset: none (the gateway bills the deployment's price).
   */
  @IsOptional() @IsArray() @Matches(/^[a-z][a-z0-9_]*$/, { each: true }) forwardRoutingFields?: string[];
  /**
   * OpenAI-format providers: the field that carries a request's output limit upstream, whichever
   * of the two the client (or the Messages and Responses codecs) used. Unset: `max_completion_tokens`
   * for type openai (its reasoning models refuse `max_tokens`), `max_tokens` otherwise (the field
   * vLLM, Mistral, Groq, Together, DeepSeek and Ollama all take; Mistral refuses the other).
   */
  @IsOptional()
  @IsIn(MAX_TOKENS_FIELDS as unknown as string[], {
    message: ({ value }) => `${JSON.stringify(value)} is not one of ${MAX_TOKENS_FIELDS.join(', ')}`,
  })
  maxTokensField?: MaxTokensField;
  /**
   * OpenAI-format providers: whether the upstream takes `stream_options`, with which the gateway
   * asks every stream for its usage. False (Mistral refuses the field): none is sent, the client's
   * neither, and usage is read from the stream's last chunk when the server sends it there.
   */
  @IsOptional() @IsBoolean({ message: ({ value }) => `${JSON.stringify(value)} is not true or false` }) streamOptions = true;
  @IsOptional() @Nested(() => MockBehaviour) mock?: MockBehaviour;
}

export class DeploymentConfig {
  /**
   * What logs, metric labels and the x-gateway-deployment header call it, in place of `<model>/<index>`,
   * so they stay the same when a deployment before it is removed. Unique across every model's deployments.
   */
  @IsOptional() @IsString() @Matches(NAME) @MaxLength(100) id?: string;
  @IsString() provider!: string;
  /** The model id sent upstream. */
  @IsString() @Matches(/\S/, { message: 'model must be the upstream model id, not empty' }) model!: string;
  @IsOptional() @Nested(() => Price) price?: Price;
  @IsOptional() @IsInt() @Min(1) contextWindow?: number;
  /** `max_tokens` when the client sends none: required by Anthropic, a cap for Gemini. */
  @IsOptional() @IsInt() @Min(1) maxOutputTokens?: number;
  /**
   * How Anthropic and Gemini deployments switch on thinking when a client sends
   * `reasoning_effort`: `adaptive` sends an effort level (Claude 4.6+, Gemini 3+),
   * `budget` a token budget (older models such as claude-haiku-4-5).
   */
  @IsOptional() @IsIn(THINKING_STYLES as unknown as string[]) thinking: ThinkingStyle = 'adaptive';
  /** Undeclared: text chat only (no tools, images or JSON mode). See deploymentKind(). */
  @IsOptional() @IsArray() @IsIn(CAPABILITIES as unknown as string[], { each: true }) capabilities?: Capability[];
  /** Share of traffic under the `weighted` strategy. */
  @IsOptional() @IsNumber() @Min(0) weight = 1;
}

export class ModelConfig {
  @IsString() @Matches(NAME) name!: string;
  /** Other names clients may send, spelled like `name`. */
  @IsOptional() @IsArray() @Matches(NAME, { each: true }) aliases?: string[];
  /** How the group orders its deployments for each request (see README, Routing). */
  @IsOptional() @IsIn(STRATEGIES as unknown as string[]) strategy: Strategy = 'priority';
  @NestedList(() => DeploymentConfig) @ArrayNotEmpty() deployments!: DeploymentConfig[];
}

export class ServerConfig {
  /** 0 picks a free port (tests). */
  @IsOptional() @IsInt() @Min(0) @Max(65535) port = 3000;
  @IsOptional() @IsString() host = '127.0.0.1';
  /** The ops listener: `/metrics` and `/admin/*`, never on the public port (0 picks a free port). */
  @IsOptional() @IsInt() @Min(0) @Max(65535) metricsPort = 9464;
  /** Loopback by default; in a pod, 0.0.0.0 with a NetworkPolicy that admits only the scrapers. */
  @IsOptional() @IsString() metricsHost = '127.0.0.1';
  /** Largest accepted request body. */
  @IsOptional() @IsInt() @Min(1024) bodyLimitBytes = 4 * 1024 * 1024;
  /**
   * On SIGTERM, /ready fails at once but the gateway keeps accepting for this long, so
   * requests routed here before the endpoint is removed are served (matches the chart's preStop).
   */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) shutdownDelayMs = 5_000;
  /** Then, with no new connections accepted, in-flight requests and streams get this long to finish. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) shutdownGraceMs = 30_000;
  /**
   * Then the metrics port stays open until one more /metrics scrape has been answered, at most this long, so what
   * the drain counted reaches Prometheus: at least the scrape interval to be sure of it. 0 closes it at once.
   */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIMER_MS) shutdownScrapeMs = 15_000;
  /** Idle keep-alive timeout for client connections. */
  @IsOptional() @IsInt() @Min(1) @Max(MAX_TIMER_MS) keepAliveTimeoutMs = 72_000;
  @IsOptional() @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']) logLevel = 'info';
  /** Log prompt and completion bodies. Off by default: prompts are user data. */
  @IsOptional() @IsBoolean() logBodies = false;
  /** Regular expressions removed from logged bodies, on top of the built-in secret patterns. */
  @IsOptional() @IsArray() @IsString({ each: true }) redactPatterns: string[] = [];
}

export class GatewayConfig {
  @IsOptional() @Nested(() => ServerConfig) server: ServerConfig = new ServerConfig();
  @NestedList(() => ProviderConfig) providers!: ProviderConfig[];
  @NestedList(() => ModelConfig) models!: ModelConfig[];
  @IsOptional() @NestedList(() => VirtualModelConfig) virtualModels: VirtualModelConfig[] = [];
  @IsOptional() @Nested(() => RouterConfig) router: RouterConfig = new RouterConfig();
  @IsOptional() @Nested(() => SecurityConfig) security: SecurityConfig = new SecurityConfig();
  /** Set from REDIS_URL; Redis-backed features are off without it. */
  @IsOptional() @IsRedisUrl() redisUrl?: string;
  /** Cluster mode and TLS CA for that Redis (libs/redis); see redis-config.ts. */
  @IsOptional() @Nested(() => RedisConfig) redis: RedisConfig = new RedisConfig();
  /** Set from GATEWAY_MASTER_KEY only; when set, every /v1 request needs a key. */
  @IsOptional() @IsString() @MinLength(16, { message: 'GATEWAY_MASTER_KEY must be at least 16 characters' }) masterKey?: string;
  /** Exact and semantic response cache (libs/cache); see cache-config.ts. */
  @IsOptional() @Nested(() => CacheConfig) cache: CacheConfig = new CacheConfig();
  /** Stored responses of the Responses API (apps/gateway/src/responses); see responses-config.ts. */
  @IsOptional() @Nested(() => ResponsesConfig) responses: ResponsesConfig = new ResponsesConfig();
  /** Message threads of the Messages API (apps/gateway/src/messages/threads); see messages-config.ts. */
  @IsOptional() @Nested(() => MessagesConfig) messages: MessagesConfig = new MessagesConfig();
  /** What the Prometheus series label; see metrics-config.ts. */
  @IsOptional() @Nested(() => MetricsConfig) metrics: MetricsConfig = new MetricsConfig();
}
