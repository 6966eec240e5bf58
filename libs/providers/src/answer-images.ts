import { GatewayError } from './gateway-error';

/**
 * An answer holding an image (an image model's) where the client's protocol has no place for one: a 502 that says
 * so, never a 200 with the text alone, nor one the cache would replay (media34 D3). No upstream failure (no
 * `upstreamStatus`): not retried, as the model would only draw again, nor held against the deployment, which answered.
 */
export function imageNotCarried(answered: string, detail: string): GatewayError {
  return new GatewayError(502, `${answered} answered with an image ${detail}`, 'upstream_error', 'unsupported_output');
}

/**
 * Refuses an OpenAI-format answer's pictures (`images` in a message or a delta: OpenRouter's image models, asked with
 * `modalities: ["image","text"]`) where `api`'s answers have no image: chat completions pass them on as they came.
 */
export function refuseAnswerImages(message: object | null | undefined, api: string): void {
  const images = (message as { images?: unknown } | null | undefined)?.images;
  if (Array.isArray(images) && images.length)
    throw imageNotCarried('The upstream', `(\`images\`), which ${api} cannot carry: /v1/chat/completions passes it on.`);
}
