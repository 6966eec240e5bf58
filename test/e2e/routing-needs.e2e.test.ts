import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { FakeVendors } from '../support/fake-vendors';
import { configWith, GatewayProcess } from '../support/gateway';

// Found by an independent check (route28, defects 2 and 4): a PDF or audio went to a deployment that declares no
// capabilities (README: it serves text chat only), and in a group mixing vendors, `n: 2` or `logprobs` was refused
// with a 400 by the deployment the strategy or a fallback put first (Claude, Gemini) though another one serves it.

const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF').toString('base64');
const WAV = Buffer.alloc(3_200).toString('base64');

const vendors = new FakeVendors();
let gateway: GatewayProcess;
let client: OpenAI;
let anthropic: Anthropic;

before(async () => {
  const providers = await vendors.start();
  const models = [
    // `plain-text` declares nothing: text chat only. FakeOpenAI answers any model id it has no behaviour for.
    {
      name: 'media',
      deployments: [
        { provider: 'oa', model: 'plain-text' },
        { provider: 'oa', model: 'sees', capabilities: ['vision', 'json'] },
      ],
    },
    {
      name: 'media-audio',
      deployments: [
        { provider: 'oa', model: 'plain-text' },
        { provider: 'gem', model: 'gemini-echo', capabilities: ['audio'] },
      ],
    },
    {
      name: 'cheap',
      strategy: 'cost',
      deployments: [
        { provider: 'oa', model: 'gpt-dear', price: { input: 3, output: 15 } },
        { provider: 'ant', model: 'claude-echo', price: { input: 1, output: 5 } },
      ],
    },
    {
      name: 'fallbacks',
      deployments: [
        { provider: 'oa', model: 'status-503' },
        { provider: 'gem', model: 'gemini-echo' },
        { provider: 'oa', model: 'gpt-last' },
      ],
    },
    {
      name: 'no-logprobs',
      deployments: [
        { provider: 'ant', model: 'claude-echo' },
        { provider: 'gem', model: 'gemini-echo' },
      ],
    },
  ];
  models.push({ name: 'text-only', deployments: [{ provider: 'oa', model: 'plain-text' }] });
  // A long prompt goes to `long` (text only) by its rule; a PDF may go there only if it could read it.
  const virtualModels = [
    {
      name: 'auto',
      default: 'media',
      rules: [
        { name: 'long', match: { minPromptTokens: 20 }, model: 'text-only' },
        { name: 'hi', match: { keywords: ['hello'] }, model: 'text-only' },
      ],
    },
    // A rule for images sends documents there too: they need vision alike.
    { name: 'pictures', default: 'text-only', rules: [{ name: 'seen', match: { images: true }, model: 'media' }] },
  ];
  const router = { retry: { attemptsPerDeployment: 1 }, breaker: { consecutiveFailures: 1_000, minRequests: 1_000 } };
  gateway = await GatewayProcess.start(configWith({ providers, models, virtualModels, router }), { env: vendors.env });
  client = gateway.client();
  anthropic = new Anthropic({ baseURL: gateway.url, apiKey: 'test-client-key', maxRetries: 0 });
});
after(async () => {
  await gateway?.stop();
  await vendors.stop();
});

const servedBy = (response: Response) => response.headers.get('x-gateway-upstream-model');

describe('routing: a document needs vision, audio needs audio, on all three APIs', () => {
  const ask = async (model: string, part: OpenAI.ChatCompletionContentPart) =>
    servedBy(
      (
        await client.chat.completions
          .create({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'this' }, part] }] })
          .withResponse()
      ).response,
    );

  it('a chat file part (PDF) goes to the vision deployment, not the text-only one', async () => {
    const pdf = { type: 'file' as const, file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'a.pdf' } };
    assert.equal(await ask('media', pdf), 'sees');
    // Control: text goes to the first deployment.
    const text = await client.chat.completions.create({ model: 'media', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    assert.equal(servedBy(text.response), 'plain-text');
  });

  it('a Messages document (PDF) goes to the vision deployment', async () => {
    const { response } = await anthropic.messages
      .create({
        model: 'media',
        max_tokens: 50,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } },
              { type: 'text', text: 'summarise' },
            ],
          },
        ],
      })
      .withResponse();
    assert.equal(servedBy(response), 'sees');
  });

  it('a Responses input_file (PDF) goes to the vision deployment', async () => {
    const { response } = await client.responses
      .create({
        model: 'media',
        input: [
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'summarise' },
              { type: 'input_file', file_data: `data:application/pdf;base64,${PDF}`, filename: 'a.pdf' },
            ],
          },
        ],
      })
      .withResponse();
    assert.equal(servedBy(response), 'sees');
  });

  // Found by an independent check (recheck28): a task rule sent a PDF to a group with no `vision` deployment, refused,
  // though the default could read it; and an audio file's media type was read case-sensitively (`data:Audio/WAV`).
  it('a virtual model passes over a rule whose group cannot read a PDF; text still follows the rule', async () => {
    const pdf = { type: 'file' as const, file: { file_data: `data:application/pdf;base64,${PDF}`, filename: 'a.pdf' } };
    const { response } = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello '.repeat(40) }, pdf] }] })
      .withResponse();
    assert.deepEqual([servedBy(response), response.headers.get('x-gateway-route')], ['sees', 'auto; rule=default']);
    const text = await client.chat.completions
      .create({ model: 'auto', messages: [{ role: 'user', content: 'hello '.repeat(40) }] })
      .withResponse();
    assert.deepEqual([servedBy(text.response), text.response.headers.get('x-gateway-route')], ['plain-text', 'auto; rule=long']);
    const seen = await client.chat.completions
      .create({ model: 'pictures', messages: [{ role: 'user', content: [{ type: 'text', text: 'this' }, pdf] }] })
      .withResponse();
    assert.deepEqual([servedBy(seen.response), seen.response.headers.get('x-gateway-route')], ['sees', 'pictures; rule=seen']);
  });

  it('an audio file is audio whatever the case of its media type', async () => {
    const file = { type: 'file' as const, file: { file_data: `data:Audio/WAV;base64,${WAV}`, filename: 'a.wav' } };
    assert.equal(await ask('media-audio', file), 'gemini-echo');
  });

  it('chat input_audio goes to the deployment that declares audio; a group with none: 400 unsupported_capability', async () => {
    const audio = { type: 'input_audio' as const, input_audio: { data: WAV, format: 'wav' as const } };
    assert.equal(await ask('media-audio', audio), 'gemini-echo');
    const refused = await ask('media', audio).catch((e: unknown) => e);
    assert.ok(refused instanceof OpenAI.APIError, String(refused));
    assert.deepEqual([refused.status, refused.code], [400, 'unsupported_capability']);
    assert.equal(refused.message, '400 No deployment of media supports audio (its config declares no such capability).');
  });
});

describe('routing: parameters a vendor refuses go to a deployment that takes them', () => {
  const ask = (model: string, extra: Partial<OpenAI.ChatCompletionCreateParamsNonStreaming>) =>
    client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50, ...extra }).withResponse();

  it('a cost group whose cheapest deployment is Claude serves n: 2 and logprobs from its OpenAI deployment', async () => {
    assert.equal(servedBy((await ask('cheap', {})).response), 'claude-echo', 'the cheapest, for a request Claude serves');
    const two = await ask('cheap', { n: 2 });
    assert.equal(servedBy(two.response), 'gpt-dear');
    assert.equal(vendors.openai.received.at(-1)?.body.n, 2, 'sent as asked');
    assert.equal(servedBy((await ask('cheap', { logprobs: true })).response), 'gpt-dear');
  });

  it('a fallback skips Gemini for logprobs and reaches the OpenAI deployment after it', async () => {
    assert.equal(servedBy((await ask('fallbacks', {})).response), 'gemini-echo', 'the fallback, for a request Gemini serves');
    const { response } = await ask('fallbacks', { logprobs: true, top_logprobs: 2 });
    assert.equal(servedBy(response), 'gpt-last');
    assert.match(response.headers.get('x-gateway-fallbacks') ?? '', /^fallbacks\/0=/);
  });

  it('when no deployment takes it, the 400 is the adapter`s as before, naming the parameter', async () => {
    const asked = vendors.anthropic.received.length + vendors.gemini.received.length;
    const err = await ask('no-logprobs', { logprobs: true }).catch((e: unknown) => e);
    assert.ok(err instanceof OpenAI.APIError, String(err));
    assert.deepEqual([err.status, err.code, err.param], [400, 'unsupported_parameter', 'logprobs']);
    assert.equal(err.message, '400 Anthropic does not return log probabilities (logprobs).');
    assert.equal(vendors.anthropic.received.length + vendors.gemini.received.length, asked, 'no upstream asked');
  });
});
