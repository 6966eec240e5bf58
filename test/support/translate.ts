import type { GatewayError } from '../../libs/providers/src/gateway-error';
import type { CompletionUsage } from '../../libs/providers/src/wire';
import { openStream, type Translate } from '../../libs/providers/src/translation/chunks';

/** A vendor stream translator run over `events` as an adapter runs it (openStream): its frames and the usage it set. */
export async function translated<E>(translate: Translate<E>, events: E[]): Promise<{ frames: string[]; usage?: CompletionUsage }> {
  async function* source() {
    yield* events;
  }
  const stream = await openStream('vendor', source(), translate, (err) => err as GatewayError);
  const frames: string[] = [];
  for await (const frame of stream) frames.push(String(frame));
  return { frames, usage: stream.usage };
}
