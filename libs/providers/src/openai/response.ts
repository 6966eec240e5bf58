import type { Dispatcher } from 'undici';
import { GatewayError } from '../gateway-error';
import type { JsonResult } from '../provider';

/**
 * Reads a successful JSON answer. The bytes are forwarded as they came; we parse
 * them once only to read `usage` and to refuse an upstream that sent non-JSON.
 */
export async function readJsonResult(provider: string, res: Dispatcher.ResponseData, expect: string): Promise<JsonResult> {
  const body = new Uint8Array(await res.body.arrayBuffer());
  let parsed: { object?: unknown; usage?: JsonResult['usage'] };
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    parsed = {};
  }
  if (parsed.object !== expect) {
    throw new GatewayError(
      502,
      `Provider ${provider} returned a response that is not a ${expect}.`,
      'upstream_error',
      'upstream_invalid_response',
      null,
      {},
      true,
    );
  }
  return { body, usage: parsed.usage ?? undefined };
}
