import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type GatewayConfig, parseConfig } from '@gateway/config';
import type { RedisService } from '@gateway/redis';
import { ReasoningStateStore } from '../../apps/gateway/src/reasoning-state/reasoning-state.store';

const storeWith = (reasoningState: object): ReasoningStateStore => {
  const config: GatewayConfig = parseConfig(
    {
      providers: [{ name: 'mock', type: 'mock' }],
      models: [{ name: 'm', deployments: [{ provider: 'mock', model: 'm' }] }],
      router: { reasoningState },
    },
    {},
  );
  return new ReasoningStateStore(config, { client: undefined } as RedisService);
};
const blocks = (signature: string) => [{ type: 'thinking', thinking: 'hmm', signature }];
/** remember() writes in the background: its in-process part is done a few microtasks later. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('reasoning state kept in process', () => {
  it('per tenant and vendor: a tenant or vendor reads only what it was answered', async () => {
    const store = storeWith({});
    store.forTenant('team-a')!.remember('anthropic', new Map([['toolu_1', blocks('sig-a')]]));
    store.forTenant('team-b')!.remember('gemini', new Map([['toolu_1', 'gsig-b']]));
    await settled();
    assert.deepEqual([...(await store.forTenant('team-a')!.recall('anthropic', ['toolu_1', 'toolu_2']))], [['toolu_1', blocks('sig-a')]]);
    assert.equal((await store.forTenant('team-b')!.recall('anthropic', ['toolu_1'])).size, 0, 'another tenant');
    assert.equal((await store.forTenant('team-a')!.recall('gemini', ['toolu_1'])).size, 0, 'another vendor');
    assert.deepEqual([...(await store.forTenant('team-b')!.recall('gemini', ['toolu_1']))], [['toolu_1', 'gsig-b']]);
  });

  it('bounded in entries, least recently used dropped first; maxEntries 0 turns it off', async () => {
    const store = storeWith({ maxEntries: 2 });
    const memory = store.forTenant('t')!;
    for (const id of ['a', 'b']) memory.remember('gemini', new Map([[id, `sig-${id}`]]));
    await settled();
    await memory.recall('gemini', ['a']); // b is now the least recently used
    memory.remember('gemini', new Map([['c', 'sig-c']]));
    await settled();
    assert.deepEqual([...(await memory.recall('gemini', ['a', 'b', 'c'])).keys()], ['a', 'c']);
    assert.equal(storeWith({ maxEntries: 0 }).forTenant('t'), undefined);
  });
});
