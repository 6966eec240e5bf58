import type OpenAI from 'openai';
import { configWith, type GatewayOptions, type GatewayProcess, gatewayWithFakeUpstream } from './gateway';

type Params = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, 'model' | 'messages'>;

/** One chat completion; returns the answer and the `x-gateway-cache` header. */
export async function ask(
  client: OpenAI,
  messages: string | OpenAI.ChatCompletionMessageParam[],
  params: Params & { model?: string } = {},
  headers: Record<string, string> = {},
) {
  const { data, response } = await client.chat.completions
    .create(
      { model: 'mock', messages: typeof messages === 'string' ? [{ role: 'user', content: messages }] : messages, ...params },
      { headers },
    )
    .withResponse();
  return { cache: response.headers.get('x-gateway-cache'), provider: response.headers.get('x-gateway-provider'), completion: data };
}

/** A streamed chat completion: the chunks and the `x-gateway-cache` header. */
export async function askStream(
  client: OpenAI,
  content: string,
  includeUsage = true,
  headers: Record<string, string> = {},
  model = 'mock',
) {
  const { data, response } = await client.chat.completions
    .create({ model, stream: true, stream_options: { include_usage: includeUsage }, messages: [{ role: 'user', content }] }, { headers })
    .withResponse();
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const chunk of data) chunks.push(chunk);
  const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  return { cache: response.headers.get('x-gateway-cache'), chunks, text };
}

/** Waits until the gateway has logged that its local embedder is loaded. */
export async function embedderLoaded(gateway: GatewayProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!gateway.logs.some((l) => /^local embedder .* loaded/.test(String(l.msg)))) {
    // Seen once in CI under load (not reproduced in 230 starts beside four builds): the failure says what the gateway wrote.
    if (Date.now() > deadline)
      throw new Error(`local embedder did not load; the gateway's last output:\n${gateway.rawOutput.slice(-15).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Stores happen after the response is sent; this gives them a moment. */
export function settle(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The value of a metric series from /metrics (0 when absent). */
export async function metric(gateway: GatewayProcess, series: string): Promise<number> {
  const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * A gateway with the exact cache on in front of a FakeOpenAI, for cases of identical requests in flight
 * (cache.coalesce): one model group `c-<tag>` a case, on its own held upstream model (`held-<tag>`).
 * `config`: more of the gateway's config; `calls(tag)`: the upstream calls of one case.
 */
export function coalescingGateway(tags: readonly string[], config: object, options: GatewayOptions) {
  const setup = gatewayWithFakeUpstream(
    (baseUrl) =>
      configWith({
        providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
        models: tags.map((tag) => ({
          name: `c-${tag}`,
          // `held-tool-<tag>` answers with a tool call.
          deployments: [{ provider: 'fake', model: `held-${tag}`, ...(tag.startsWith('tool-') && { capabilities: ['tools'] }) }],
        })),
        cache: { enabled: true, semantic: { enabled: false } },
        ...config,
      }),
    options,
  );
  return {
    setup,
    calls: (tag: string) => setup.upstream.received.filter((r) => r.body.model === `held-${tag}`).length,
    waiting: () => metric(setup.gateway, 'gateway_cache_waiting_requests'),
  };
}

/**
 * A fallback group for savings (FALLBACK_PRICED): its first deployment, dear, always fails; its second, cheap
 * ($1 / $2 a million), answers. Add both to a gateway's config (configWith's providers and models).
 */
export const FALLBACK_PRICED = {
  provider: { name: 'always-down', type: 'mock', mock: { failRate: 1, failStatus: 503 } },
  model: {
    name: 'fallback-priced',
    deployments: [
      { provider: 'always-down', model: 'dear', price: { input: 100, output: 100 } },
      { provider: 'mock', model: 'cheap', price: { input: 1, output: 2 } },
    ],
  },
};

/**
 * What a hit on `prompt` in FALLBACK_PRICED's group adds to gateway_cache_saved_usd_total, and what the answer
 * it replays was billed (its usage at the cheap deployment's prices, which answered it).
 */
export async function savedOnFallback(gateway: GatewayProcess, client: OpenAI, prompt: string) {
  const first = await ask(client, prompt, { model: 'fallback-priced' });
  await settle();
  const before = await metric(gateway, 'gateway_cache_saved_usd_total');
  const hit = await ask(client, prompt, { model: 'fallback-priced' });
  const usage = first.completion.usage!;
  return {
    cache: [first.cache, hit.cache],
    saved: (await metric(gateway, 'gateway_cache_saved_usd_total')) - before,
    billed: (usage.prompt_tokens * 1 + usage.completion_tokens * 2) / 1e6,
  };
}
