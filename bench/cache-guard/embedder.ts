/**
 * The embedder bench/cache-guard.ts scores with: an offline one (`--embedder use|minilm`), or the
 * embedding model a running gateway serves (`--gateway URL --embedding-model NAME`), the one the
 * semantic cache embeds with in production (`cache.semantic.embeddingModel`).
 */
import { LocalUseEmbedder, MiniLmEmbedder } from '../../libs/cache/src/embedders/worker-embedder';
import { normalise } from '../../libs/cache/src/vector';

/** What cache-guard.ts asks of an embedder. */
export type BenchEmbedder = Pick<LocalUseEmbedder, 'id' | 'loaded' | 'embed' | 'close'>;

export interface EmbedderChoice {
  /** As the report names it. */
  name: string;
  /** Names the file the vectors are kept in between runs. */
  vectorsSuffix: string;
  create(): BenchEmbedder;
}

export interface EmbedderOptions {
  embedder?: string;
  gateway?: string;
  'embedding-model'?: string;
  'api-key-env'?: string;
  dimensions?: string;
}

const OFFLINE: Readonly<Record<string, EmbedderChoice>> = {
  use: { name: 'use', vectorsSuffix: '', create: () => new LocalUseEmbedder() },
  minilm: { name: 'minilm', vectorsSuffix: '-minilm', create: () => new MiniLmEmbedder() },
};

/** The gateway's options, which only --gateway uses. */
const GATEWAY_ONLY = ['embedding-model', 'api-key-env', 'dimensions'] as const;

/**
 * Inputs per /v1/embeddings request: Gemini's batchEmbedContents takes at most 100, and OpenAI's
 * limits (2,048 inputs, 300,000 tokens) are far above 100 prompts.
 */
const BATCH = 100;

/** The embedder the options ask for; `fail` says what is wrong with them (it does not return). */
export function chosenEmbedder(opts: EmbedderOptions, fail: (message: string) => never): EmbedderChoice {
  if (opts.gateway === undefined) {
    const stray = GATEWAY_ONLY.find((name) => opts[name] !== undefined);
    if (stray) fail(`--${stray} goes with --gateway URL (an embedding model a running gateway serves)`);
    const name = opts.embedder ?? 'use';
    if (!Object.hasOwn(OFFLINE, name)) {
      fail(
        `--embedder must be one of ${Object.keys(OFFLINE).join(', ')} (got "${name}"); to calibrate with a provider's ` +
          'embedding model, serve it from a gateway and pass --gateway URL --embedding-model NAME [--api-key-env VAR]',
      );
    }
    return OFFLINE[name]!;
  }
  if (opts.embedder !== undefined) fail('--embedder and --gateway are alternatives: an offline embedder, or a gateway`s model');
  const base = gatewayUrl(opts.gateway, fail);
  const model = opts['embedding-model'] || fail('--gateway needs --embedding-model NAME, the model group to embed with');
  const apiKey = opts['api-key-env'] === undefined ? undefined : keyFrom(opts['api-key-env'], fail);
  const dimensions = opts.dimensions === undefined ? undefined : positiveInteger(opts.dimensions, fail);
  const id = `${model.replace(/[^A-Za-z0-9.-]/g, '_')}${dimensions ? `-${dimensions}` : ''}`;
  return {
    name: `${model} (${base.origin})`,
    vectorsSuffix: `-gateway-${id}`,
    create: () => new GatewayEmbedder(id, new URL('v1/embeddings', base), model, apiKey, dimensions),
  };
}

function gatewayUrl(value: string, fail: (message: string) => never): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    fail(`--gateway must be the gateway's base URL, such as http://127.0.0.1:3000 (got "${value}")`);
  }
  // A base without its trailing slash would lose its last segment to v1/embeddings.
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

function keyFrom(variable: string, fail: (message: string) => never): string {
  return process.env[variable] || fail(`--api-key-env names ${variable}, which is not set: it holds the gateway key to send`);
}

function positiveInteger(value: string, fail: (message: string) => never): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fail(`--dimensions must be a positive integer (got "${value}")`);
}

interface Waiting {
  text: string;
  resolve(vector: Float32Array): void;
  reject(err: unknown): void;
}

/**
 * Embeds through a gateway's /v1/embeddings, the prompts asked for in one turn sent in batches,
 * one request at a time (the provider's rate limits stay the gateway's to meet).
 */
class GatewayEmbedder implements BenchEmbedder {
  readonly loaded = Promise.resolve();
  private waiting: Waiting[] = [];

  constructor(
    readonly id: string,
    private readonly url: URL,
    private readonly model: string,
    private readonly apiKey: string | undefined,
    private readonly dimensions: number | undefined,
  ) {}

  embed(text: string): Promise<Float32Array> {
    if (!this.waiting.length) setImmediate(() => void this.send(this.waiting.splice(0)));
    return new Promise((resolve, reject) => this.waiting.push({ text, resolve, reject }));
  }

  async close(): Promise<void> {}

  private async send(waiting: Waiting[]): Promise<void> {
    for (let start = 0; start < waiting.length; start += BATCH) {
      const batch = waiting.slice(start, start + BATCH);
      try {
        const vectors = await this.request(batch.map((w) => w.text));
        batch.forEach((w, i) => w.resolve(vectors[i]!));
      } catch (err) {
        for (const w of waiting.slice(start)) w.reject(err);
        return;
      }
    }
  }

  private async request(input: string[]): Promise<Float32Array[]> {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(this.apiKey && { authorization: `Bearer ${this.apiKey}` }) },
      body: JSON.stringify({ model: this.model, input, encoding_format: 'float', ...(this.dimensions && { dimensions: this.dimensions }) }),
    });
    const body = (await res.json().catch(() => undefined)) as
      { data?: { index: number; embedding: unknown }[]; error?: { message?: string } } | undefined;
    if (!res.ok) {
      const hint = res.status === 401 && !this.apiKey ? ' (no key sent: --api-key-env VAR names the variable holding one)' : '';
      throw new Error(`${this.url} answered ${res.status}: ${body?.error?.message ?? res.statusText}${hint}`);
    }
    const data = body?.data;
    if (!Array.isArray(data) || data.length !== input.length) {
      throw new Error(`${this.url} returned ${Array.isArray(data) ? data.length : 'no'} embeddings for ${input.length} inputs`);
    }
    return [...data].sort((a, b) => a.index - b.index).map(({ embedding }) => this.vector(embedding));
  }

  private vector(embedding: unknown): Float32Array {
    const valid = Array.isArray(embedding) && embedding.length > 0 && embedding.every((x) => typeof x === 'number');
    if (!valid) throw new Error(`${this.url} returned an embedding that is not a list of numbers (model ${this.model})`);
    return normalise(Float32Array.from(embedding as number[]));
  }
}
