import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { FakeAnthropic } from '../support/fake-anthropic';
import { FakeOpenAI } from '../support/fake-openai';
import { configWith, GatewayProcess } from '../support/gateway';

const execFileAsync = promisify(execFile);

/** Pinned: a new Claude Code may send a new request shape; the test should not change under us. */
const CLAUDE_CODE = '@anthropic-ai/claude-code@2.1.332';
/** Installed once per machine (about 380 MB, a native binary per platform) and reused by later runs. */
const INSTALL_DIR = join(tmpdir(), `ai-gateway-${CLAUDE_CODE.replace(/[@/]/g, '_')}`);
const BIN = join(INSTALL_DIR, 'node_modules', '.bin', 'claude');
const KEY = 'gw-claude-code-key-0123456789';
const ANTHROPIC_KEY = 'sk-ant-upstream-secret-42';
/** strace, when the machine has it: it lists every connection the CLI opens. */
const STRACE = ['/usr/bin/strace', '/bin/strace'].find((path) => existsSync(path));

interface Result {
  is_error: boolean;
  result: string;
  num_turns: number;
  modelUsage?: Record<string, { webSearchRequests: number }>;
  api_error_status?: number | null;
}

/**
 * Claude Code in non-interactive mode (`claude -p`) against the gateway's Messages
 * API and the offline mock model: the environment is cleared to what the run needs,
 * with its base URL on 127.0.0.1 and telemetry, error reporting and auto-update off.
 * `--bare` skips hooks, plugins and background prefetches; `--tools` picks the built-in
 * tools (the mock model calls the first tool it is offered, so offering Claude Code's
 * whole set would make it spawn sub-agents without end), and `--allowedTools` grants them.
 * `oa-then-claude` has an OpenAI-family deployment (fake OpenAI, calling WebSearch) first and a fake
 * Anthropic one second; `oa-search` has only the OpenAI-family one.
 */
describe('Claude Code (claude -p) through the gateway', { timeout: 600_000 }, () => {
  let gateway: GatewayProcess;
  let work: string;
  const anthropic = new FakeAnthropic(ANTHROPIC_KEY);
  const openai = new FakeOpenAI();

  before(async () => {
    if (!existsSync(BIN)) {
      mkdirSync(INSTALL_DIR, { recursive: true });
      writeFileSync(join(INSTALL_DIR, 'package.json'), '{"name":"claude-code-under-test","private":true}');
      await execFileAsync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', CLAUDE_CODE], {
        cwd: INSTALL_DIR,
        timeout: 540_000,
      });
    }
    const [antUrl, oaUrl] = await Promise.all([anthropic.start(), openai.start()]);
    gateway = await GatewayProcess.start(
      configWith({
        providers: [
          { name: 'ant', type: 'anthropic', baseUrl: antUrl, apiKeyEnv: 'FAKE_ANT_KEY' },
          { name: 'oa', type: 'openai-compatible', baseUrl: oaUrl, apiKeyEnv: 'FAKE_OA_KEY' },
        ],
        models: [
          {
            name: 'oa-then-claude',
            deployments: [
              { provider: 'oa', model: 'call-WebSearch', capabilities: ['tools', 'json', 'vision'] },
              { provider: 'ant', model: 'claude-echo', capabilities: ['tools', 'json', 'vision'] },
            ],
          },
          { name: 'oa-search', deployments: [{ provider: 'oa', model: 'call-WebSearch', capabilities: ['tools', 'json', 'vision'] }] },
          // Upstreams that write at most 16384 tokens, which Claude Code asks more than: said by the upstream, in
          // OpenAI's words, or by the config (the gateway refuses it).
          { name: 'oa-capped', deployments: [{ provider: 'oa', model: 'cap-16384' }] },
          { name: 'config-capped', deployments: [{ provider: 'oa', model: 'cap-16384', maxOutputTokens: 16384 }] },
        ],
        security: { keys: [{ id: 'cli', keyEnv: 'CLI_KEY' }] },
      }),
      { env: { GATEWAY_MASTER_KEY: 'gw-master-key-0123456789', CLI_KEY: KEY, FAKE_ANT_KEY: ANTHROPIC_KEY, FAKE_OA_KEY: 'sk-fake-openai' } },
    );
    work = mkdtempSync(join(tmpdir(), 'claude-code-work-'));
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([anthropic.stop(), openai.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function claude(
    prompt: string,
    tools: string,
    auth: Record<string, string>,
    bare = true,
    trace?: string,
    model = 'mock',
  ): Promise<Result> {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      ANTHROPIC_BASE_URL: gateway.url,
      ANTHROPIC_MODEL: model,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
      ANTHROPIC_SMALL_FAST_MODEL: model,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      ...auth,
    };
    const allowed = tools ? ['--allowedTools', tools] : [];
    const args = ['-p', prompt, '--model', model, '--tools', tools, ...allowed, ...(bare ? ['--bare'] : []), '--output-format', 'json'];
    const [file, argv] = trace ? [STRACE!, ['-f', '-qq', '-e', 'trace=connect', '-o', trace, BIN, ...args]] : [BIN, args];
    const run = await execFileAsync(file, argv, { cwd: work, env, timeout: 120_000 }).catch((err: { stdout?: string }) => err);
    const lines = String(run.stdout ?? '')
      .trim()
      .split('\n');
    return JSON.parse(lines[lines.length - 1]) as Result;
  }

  it('answers a prompt with the mock model (ANTHROPIC_AUTH_TOKEN: bearer auth, streamed)', async () => {
    const result = await claude('Say hello', '', { ANTHROPIC_AUTH_TOKEN: KEY });
    assert.equal(result.is_error, false, JSON.stringify(result));
    assert.equal(result.result, "[mock] This is the gateway's offline mock model. You said: Say hello");
    // Served on the Messages route for this key, streamed, with the usage accounted.
    const [line] = await gateway.logged('request', { where: (l) => l.route === '/v1/messages' && l.keyId === 'cli' });
    assert.ok(line, 'the access log has the request');
    assert.deepEqual([line.status, line.stream, (line.promptTokens as number) > 0], [200, true, true]);
  });

  it('runs a tool round trip: the model calls Read, Claude Code reads the file and sends the result back (ANTHROPIC_API_KEY: x-api-key)', async () => {
    const file = join(work, 'notes.txt');
    writeFileSync(file, 'the gateway says hi\n');
    const result = await claude(file, 'Read', { ANTHROPIC_API_KEY: KEY });
    assert.equal(result.is_error, false, JSON.stringify(result));
    assert.equal(result.num_turns, 2);
    assert.match(result.result, /^\[mock\] The tool returned: .*the gateway says hi/);
  });

  it('works in its default mode too: system turns inside messages, context_management, adaptive thinking', async () => {
    const result = await claude('Say hello', '', { ANTHROPIC_AUTH_TOKEN: KEY }, false);
    assert.equal(result.is_error, false, JSON.stringify(result));
    // The mock echoes the last message, which in this mode is Claude Code's own system turn.
    assert.match(result.result, /^\[mock\] This is the gateway's offline mock model\. You said: /);
  });

  /** The search sub-requests the fake Anthropic received: Messages requests declaring Anthropic's web search. */
  const searches = () =>
    anthropic.received.filter((r) => (r.body.tools as { type?: string }[] | undefined)?.some((t) => t.type === 'web_search_20250305'));

  /**
   * Claude Code asked to search on `model`: its result, which ends normally after 2 turns, with the
   * search sub-requests the fake Anthropic and the requests the fake OpenAI received meanwhile
   * (none of the latter declaring a web search).
   */
  async function searchOn(model: string) {
    const [searched, asked] = [searches().length, openai.received.length];
    const result = await claude('gateway news today', 'WebSearch', { ANTHROPIC_AUTH_TOKEN: KEY }, false, undefined, model);
    assert.equal(result.is_error, false, JSON.stringify(result));
    assert.equal(result.num_turns, 2);
    const main = openai.received.slice(asked);
    assert.ok(main.every((r) => !JSON.stringify(r.body.tools).includes('web_search')));
    return { result, searched: searches().slice(searched), main };
  }

  // WebSearch is offered only without --bare. The model calls the client tool WebSearch; Claude
  // Code then sends its own Messages request, to the same (main) model, declaring the server tool
  // web_search_20250305 with tool_choice auto, and hands the answer's links and text back as the tool result.
  it('WebSearch past an OpenAI-family first deployment: the search sub-request goes to the Anthropic one, its answer reaches the result', async () => {
    const { result, searched, main } = await searchOn('oa-then-claude');
    // Only the fake Anthropic's web_search answer writes "found: …"; the links come from its web_search_tool_result.
    assert.match(result.result, /^tool results: call_fake_1="Web search results for query: \\"gateway news today\\"/);
    assert.match(result.result, /https:\/\/example\.com\/news/);
    assert.match(result.result, /found: Perform a web search for the query: gateway news today/);
    assert.equal(result.modelUsage?.['oa-then-claude']?.webSearchRequests, 1);
    const [search] = searched;
    assert.ok(search, 'the search sub-request reached the Anthropic upstream');
    assert.equal(search.body.model, 'claude-echo');
    assert.deepEqual(search.body.tools, [{ type: 'web_search_20250305', name: 'web_search', max_uses: 8 }]);
    // The gateway's key for the Anthropic upstream, not Claude Code's key for the gateway: it came through the gateway.
    assert.equal(search.headers.authorization, `Bearer ${ANTHROPIC_KEY}`);
    // The main turns (no server tool) were served by the first, OpenAI-family deployment.
    assert.ok(main.length >= 2, JSON.stringify(main.map((r) => r.body.model)));
  });

  it('WebSearch on a model with no Anthropic deployment: the search gets the gateway`s 400, the session still ends', async () => {
    // Observed: the 400 does not fail the run. Claude Code turns it into WebSearch's tool result
    // ("API Error: 400 …", the gateway's message), sends that to the model, and the session ends
    // normally with the model's answer to it.
    const { result, searched, main } = await searchOn('oa-search');
    assert.match(
      result.result,
      // `Error: `: Claude Code marks the result is_error, which an OpenAI-format model reads in the text.
      /^tool results: call_fake_1="Error: API Error: 400 tools\[0\]\.type 'web_search_20250305' .*; model oa-search routes to no 'anthropic' deployment\."$/,
    );
    assert.equal(result.modelUsage?.['oa-search']?.webSearchRequests, 0);
    assert.deepEqual(searched, [], 'nothing reached Anthropic');
    // The main turns reached the OpenAI-family upstream; the search sub-request did not (the gateway answered it).
    assert.equal(main.length, 2, JSON.stringify(main.map((r) => r.body.model)));
  });

  // Found by an independent check: Claude Code lowers max_tokens and asks again only when the refusal reads as
  // Anthropic's; an OpenAI deployment's ("max_tokens is too large: …") failed every request of the session.
  for (const model of ['oa-capped', 'config-capped']) {
    it(`${model}: Claude Code, told its max_tokens is over the cap in Anthropic's words, asks again with the cap and finishes`, async () => {
      const asked = openai.received.length;
      const result = await claude('Say hello', '', { ANTHROPIC_AUTH_TOKEN: KEY }, true, undefined, model);
      assert.equal(result.is_error, false, JSON.stringify(result));
      const sent = openai.received.slice(asked).map((r) => r.body.max_tokens ?? r.body.max_completion_tokens);
      assert.ok(sent.includes(16384), `asked again with the cap: ${JSON.stringify(sent)}`);
      if (model === 'config-capped')
        assert.ok(
          sent.every((n) => n === 16384),
          'the gateway refused the rest: never sent',
        );
      else
        assert.ok(
          sent.some((n) => Number(n) > 16384),
          `it asked for more first: ${JSON.stringify(sent)}`,
        );
    });
  }

  it(
    'connects to nothing but the gateway (every connect() it makes, seen by strace)',
    { skip: !STRACE && 'strace not installed' },
    async () => {
      const trace = join(work, 'connect.trace');
      const result = await claude('Say hello', '', { ANTHROPIC_AUTH_TOKEN: KEY }, false, trace);
      assert.equal(result.is_error, false, JSON.stringify(result));
      const calls = readFileSync(trace, 'utf8')
        .split('\n')
        .filter((line) => line.includes('connect('));
      const port = new URL(gateway.url).port;
      const network = calls.filter((line) => /AF_INET6?/.test(line));
      assert.ok(network.length > 0, 'the CLI called the gateway');
      for (const line of network)
        assert.match(line, new RegExp(`htons\\(${port}\\).*inet_(addr|pton)\\((AF_INET6, )?"(127\\.0\\.0\\.1|::1)"`), line);
    },
  );
});
