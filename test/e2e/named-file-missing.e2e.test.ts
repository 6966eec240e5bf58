import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import { apiError } from '../support/chat';
import { FILES_BETA } from '../support/fake-anthropic';
import { FakeVendors } from '../support/fake-vendors';

const hi = [{ role: 'user' as const, content: 'hi' }];
/** More requests than the breaker's consecutive failures (5 by default): were each one a failure, it would open. */
const TIMES = 6;

// Found by independent checks (recheck27, route28): a request naming a file the upstream does not find (or that is
// another account's: an Anthropic `file` source, an OpenAI `file_id`, a Gemini Files API URI) got the vendor's 404
// `not_found_error` or 403 PERMISSION_DENIED, which the gateway read by its status as the deployment's own trouble (its
// model id unknown, its key refused): the deployment was cooled down for every tenant, the request sent on to another
// deployment (of another vendor, which never saw the file), and the client told 502 "does not know this model or
// endpoint". Any key could take a deployment out at will with a made-up file id. Now the client gets its protocol's 404
// with the upstream's words, no other deployment is asked, and the deployment goes on serving everyone.
describe('a file the request named that the upstream does not find is the client`s 404, not the deployment`s trouble', () => {
  const vendors = new FakeVendors();
  const served = vendors.serveGroups(
    [
      ['oa-files', ['oa', 'ok'], ['ant', 'claude-never-oa']],
      ['ant-files', ['ant', 'claude-echo'], ['ant', 'claude-second']],
      ['gem-files', ['gem', 'gemini-echo'], ['oa', 'never-gem']],
      ['oa-wrong-model', ['oa', 'status-404'], ['oa', 'after-404']],
    ],
    { deployment: { capabilities: ['vision'] }, clientOptions: { maxRetries: 0 } },
  );
  let client: OpenAI;
  let anthropic: Anthropic;
  const asked = (model: string) => vendors.asked(model);
  before(() => {
    client = served.client;
    anthropic = new Anthropic({ baseURL: served.gateway.url, apiKey: 'unused', maxRetries: 0 });
  });

  /** The group's first deployment answers `hi` itself, with no fallback. */
  async function stillServes(group: string) {
    const { data, response } = await client.chat.completions.create({ model: group, messages: hi }).withResponse();
    assert.ok(data.choices[0]?.message.content, 'an answer');
    assert.equal(response.headers.get('x-gateway-deployment'), `${group}/0`);
    assert.equal(response.headers.get('x-gateway-fallbacks'), null);
  }

  it('OpenAI chat, a `file` part whose file_id OpenAI does not know: 404 "No such File object", asked once each time', async () => {
    const before = [asked('ok'), asked('claude-never-oa')];
    for (let i = 0; i < TIMES; i++) {
      const content = [
        { type: 'text' as const, text: 'Summarise it.' },
        { type: 'file' as const, file: { file_id: `file-missing-${i}` } },
      ];
      const err = await apiError(
        client.chat.completions.create({ model: 'oa-files', stream: i % 2 === 1, messages: [{ role: 'user', content }] }),
      );
      assert.deepEqual([err.status, err.type, err.code], [404, 'invalid_request_error', 'file_not_found'], `request ${i}`);
      assert.match((err.error as { message: string }).message, new RegExp(`^No such File object: file-missing-${i}$`));
    }
    assert.deepEqual([asked('ok'), asked('claude-never-oa')], [before[0]! + TIMES, before[1]], 'no fallback, no retry');
    await stillServes('oa-files');
  });

  it('Anthropic Messages, a document whose Files API id Anthropic does not know: its 404 not_found_error, asked once each time', async () => {
    const before = [asked('claude-echo'), asked('claude-second')];
    for (let i = 0; i < TIMES; i++) {
      const body = {
        model: 'ant-files',
        max_tokens: 50,
        betas: [FILES_BETA],
        messages: [
          {
            role: 'user' as const,
            content: [
              { type: 'document' as const, source: { type: 'file' as const, file_id: `file_missing${i}` } },
              { type: 'text' as const, text: 'Summarise it.' },
            ],
          },
        ],
      };
      const sent = i % 2 ? anthropic.beta.messages.stream(body).finalMessage() : anthropic.beta.messages.create(body);
      const err = await sent.catch((e: unknown) => e);
      assert.ok(err instanceof Anthropic.NotFoundError, String(err));
      const said = (err.error as { error?: unknown }).error;
      assert.deepEqual(said, { type: 'not_found_error', message: `File not found: file_missing${i}` }, `request ${i}`);
    }
    assert.deepEqual([asked('claude-echo'), asked('claude-second')], [before[0]! + TIMES, before[1]], 'no fallback, no retry');
    await stillServes('ant-files');
    // The Messages API client is served by it as well, its files found.
    const found = await anthropic.beta.messages.create({
      model: 'ant-files',
      max_tokens: 50,
      betas: [FILES_BETA],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'file', file_id: 'file_held' } },
            { type: 'text', text: 'hi' },
          ],
        },
      ],
    });
    assert.deepEqual(found.content, [{ type: 'text', text: 'echo: hi' }]);
  });

  it('Gemini, an image that is a Files API URI the project cannot read: 403 PERMISSION_DENIED is the client`s 404', async () => {
    const before = [asked('gemini-echo'), asked('never-gem')];
    for (let i = 0; i < TIMES; i++) {
      const content = [
        { type: 'text' as const, text: 'What is in it?' },
        { type: 'image_url' as const, image_url: { url: `https://generativelanguage.googleapis.com/v1beta/files/missing${i}` } },
      ];
      const err = await apiError(
        client.chat.completions.create({ model: 'gem-files', stream: i % 2 === 1, messages: [{ role: 'user', content }] }),
      );
      assert.deepEqual([err.status, err.type, err.code], [404, 'invalid_request_error', 'file_not_found'], `request ${i}`);
      assert.match(
        (err.error as { message: string }).message,
        new RegExp(`^You do not have permission to access the File missing${i} or it may not exist`),
      );
    }
    assert.deepEqual([asked('gemini-echo'), asked('never-gem')], [before[0]! + TIMES, before[1]], 'no fallback, no retry');
    await stillServes('gem-files');
  });

  it('a plain 404 without those words (an unknown model id) still takes the deployment out: fallen back from, cooled down', async () => {
    const first = await client.chat.completions.create({ model: 'oa-wrong-model', messages: hi }).withResponse();
    assert.equal(first.response.headers.get('x-gateway-fallbacks'), 'oa-wrong-model/0=upstream_not_found');
    const asked404 = asked('status-404');
    const next = await client.chat.completions.create({ model: 'oa-wrong-model', messages: hi }).withResponse();
    assert.equal(next.response.headers.get('x-gateway-deployment'), 'oa-wrong-model/1');
    assert.match(next.response.headers.get('x-gateway-fallbacks') ?? '', /=cooling_down$/);
    assert.equal(asked('status-404'), asked404, 'not asked while it cools down');
  });
});
