import { GoogleGenAI } from '@google/genai';
import type { ProviderConfig } from '@gateway/config';

const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

/**
 * The official @google/genai SDK (the maintained successor of @google/generative-ai),
 * built once per provider for the Gemini API: base URL from config, no SDK retries
 * (it retries only when given retryOptions; the router retries), the provider's pooled
 * transport as its fetch. Every choice is explicit so GOOGLE_* environment variables
 * cannot switch it to Vertex AI or another API version.
 */
export function geminiClient(config: ProviderConfig, apiKey: string | undefined, fetch: typeof globalThis.fetch): GoogleGenAI {
  return new GoogleGenAI({
    vertexai: false,
    apiKey,
    apiVersion: 'v1beta',
    httpOptions: {
      baseUrl: config.baseUrl ?? GEMINI_BASE_URL,
      headers: config.headers,
      fetch,
    },
  });
}
