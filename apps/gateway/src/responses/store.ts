import { Injectable, Logger } from '@nestjs/common';
import { GatewayConfig, type ResponsesConfig } from '@gateway/config';
import type { ChatCompletionMessageParam } from '@gateway/providers';
import { RedisService } from '@gateway/redis';
import type { Response, ResponseItem } from 'openai/resources/responses/responses';
import { MemoryBackend } from '../stores/memory-backend';
import { storeUnavailable } from '../stores/tenant-store';
import { type ChainBackend, MemoryChain } from './chain-backend';
import { inputItems, listedItems } from './input-items';
import { isShown, linkedRecord, readLinked } from './linked-record';
import { RedisChain } from './redis-chain';
import { inputMessages, type ResponsesRequest } from './request';
import { answerMessages } from './response';

/**
 * Whether a JSON answer of a request to store it was stored (`true` or `false`): not when its key
 * holds responses.tenantMaxMemoryMb in Redis, the in-process store has no room, or the store failed.
 * The answer is served all the same; its id is then not found. A stream says it on its last event.
 */
export const STORED_HEADER = 'x-gateway-response-stored';

/** A stored response and the conversation it ends, for previous_response_id, item_reference and input_items. */
export interface StoredResponse {
  response: Response;
  /** The chat messages up to and including this answer, without the instructions (OpenAI does not carry them over). */
  messages: ChatCompletionMessageParam[];
  /** The items it was generated from (input-items.ts); absent from records stored before they were kept. */
  items?: ResponseItem[];
}

/**
 * What a response's record keeps: its answer, and what its request added to the conversation it
 * continues, once: the chat messages and the listed items are both made from it again (inputMessages,
 * inputItems), as they were when it was answered.
 */
export interface OwnPart {
  response: Response;
  /** The request's `input`, its `item_reference`s resolved. */
  input: ResponsesRequest['input'];
}

/**
 * Stored responses with a TTL, per tenant: in Redis when it is configured (every replica sees them,
 * at most `tenantMaxMemoryMb` per key), else in this process, bounded by memory, least recently used
 * first. Each keeps its own part and a link to the response it continues (linked-record.ts), so a
 * conversation is stored once, however long its chain. A tenant never reads another tenant's
 * responses: the tenant is in the key.
 */
@Injectable()
export class ResponseStore {
  private readonly backend: ChainBackend;
  private readonly logger = new Logger('ResponseStore');
  readonly settings: ResponsesConfig;

  constructor(config: GatewayConfig, redis: RedisService) {
    this.settings = config.responses;
    const { keyPrefix, maxMemoryMb, tenantMaxMemoryMb, ttlSeconds } = this.settings;
    this.backend = redis.client
      ? new RedisChain(redis.client, keyPrefix, tenantMaxMemoryMb * 1024 * 1024, ttlSeconds)
      : new MemoryChain(new MemoryBackend(maxMemoryMb * 1024 * 1024), ttlSeconds);
  }

  /** The response alone (GET), without the conversation before it. */
  async response(tenant: string, id: string): Promise<Response | undefined> {
    const value = await this.read(this.backend.get(tenant, id));
    return value === undefined || !isShown(value) ? undefined : (JSON.parse(readLinked(value).json) as StoredResponse).response;
  }

  /** The response with the whole conversation it ends, rebuilt from its chain; undefined when a link of it is gone. */
  async get(tenant: string, id: string): Promise<StoredResponse | undefined> {
    const chain = await this.read(this.backend.chain(tenant, id));
    return chain && isShown(chain.at(-1)!) ? rebuilt(chain) : undefined;
  }

  /**
   * Keeps a finished response's own part, linked to the response it continues. Says whether it was
   * stored: not when its key holds `tenantMaxMemoryMb` with it (Redis) or the in-process store has no
   * room for it, nor in an outage, which is logged, not the client's failure (the answer is already theirs).
   */
  async put(tenant: string, own: OwnPart, previous: string | undefined): Promise<boolean> {
    const id = own.response.id;
    const value = linkedRecord(previous, JSON.stringify(own));
    const stored = await this.backend.put(tenant, id, value, previous).catch((err: Error) => {
      this.logger.warn(`response ${id} not stored: ${err.message}`);
      return undefined;
    });
    if (stored === false)
      this.logger.warn(
        `response ${id} not stored: its key holds responses.tenantMaxMemoryMb, the store has no room, or a response it continues is gone`,
      );
    return stored === true;
  }

  delete(tenant: string, id: string): Promise<boolean> {
    return this.read(this.backend.delete(tenant, id));
  }

  private read<T>(work: Promise<T>): Promise<T> {
    return work.catch((err: Error) => {
      const message = 'The response store is unavailable; stored responses cannot be read or deleted now. Try again shortly.';
      throw storeUnavailable(this.logger, err, 'response_store_unavailable', message);
    });
  }
}

/**
 * The conversation a chain of records ends (oldest first): each record's input and answer as chat
 * messages after those before it; its input as items after those before it and the output of the
 * response it continued, then given their ids as the latest response lists them (listedItems). A
 * record written before links holds the whole conversation up to it: it can only be the first.
 */
function rebuilt(chain: string[]): StoredResponse {
  const messages: ChatCompletionMessageParam[] = [];
  const items: ResponseItem[] = [];
  // One at a time: a spread of tens of thousands of items overflows the call stack.
  const append = <T>(to: T[], more: T[]) => more.forEach((one) => to.push(one));
  let last: Response | undefined;
  for (const value of chain) {
    const record = readLinked(value);
    if (record.whole) {
      const whole = JSON.parse(record.json) as StoredResponse;
      append(messages, whole.messages);
      append(items, whole.items ?? []);
      last = whole.response;
      continue;
    }
    const part = JSON.parse(record.json) as OwnPart;
    append(items, (last?.output ?? []) as ResponseItem[]);
    append(items, inputItems(part.input));
    append(messages, inputMessages(part.input));
    append(messages, answerMessages(part.response.output));
    last = part.response;
  }
  return { response: last!, messages, items: listedItems(last!.id, items) };
}
