import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayIndexSchema, schemaDifferences } from '../../libs/cache/src/backends/index-schema';

const expected = gatewayIndexSchema('gw:cache:use-lite-512:e:', 512);
const ns = ['identifier', 'ns', 'attribute', 'ns', 'type', 'TAG', 'SEPARATOR', ','];
const vec = [
  'identifier',
  'vec',
  'attribute',
  'vec',
  'type',
  'VECTOR',
  'algorithm',
  'HNSW',
  'data_type',
  'FLOAT32',
  'dim',
  512,
  'distance_metric',
  'COSINE',
];
/** FT.INFO as RediSearch 2.10 answers it over RESP2 (the parts read here). */
const info = (keyType = 'HASH', attributes = [ns, vec]) => [
  'index_name',
  'gw:cache:idx:use-lite-512',
  'index_definition',
  ['key_type', keyType, 'prefixes', ['gw:cache:use-lite-512:e:'], 'default_score', '1'],
  'attributes',
  attributes,
  'num_docs',
  0,
];

describe('the gateway index schema read from FT.INFO', () => {
  it('the index the gateway creates fits, over RESP2 and RESP3', () => {
    assert.deepEqual(schemaDifferences(info(), expected), []);
    const resp3 = {
      index_definition: { key_type: 'HASH', prefixes: ['gw:cache:use-lite-512:e:'] },
      attributes: [
        Object.fromEntries([0, 2, 4, 6].map((i) => [ns[i], ns[i + 1]])),
        { identifier: 'vec', attribute: 'vec', type: 'VECTOR' },
      ],
    };
    assert.deepEqual(schemaDifferences(resp3, expected), []);
  });

  it('a vector field without its parameters (RediSearch 2.6) is trusted on them', () => {
    assert.deepEqual(schemaDifferences(info('HASH', [ns, vec.slice(0, 6)]), expected), []);
  });

  // The Redis Stack test cannot make one: its server has no JSON module.
  it('an index over JSON documents does not fit', () => {
    assert.deepEqual(schemaDifferences(info('JSON'), expected), ['key type JSON, needs HASH']);
  });
});
