import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configWith, gatewayWithFakeUpstream } from '../support/gateway';

/** The calibration tool as the README runs it, built by `npm run build:test`. */
const TOOL = resolve(__dirname, '../../bench/cache-guard.js');
const KEY = 'gw-calibration-key-0123456789';
/** 60 pairs of distinct prompts: 120 inputs, two /v1/embeddings requests of at most 100. */
const PAIRS = Array.from({ length: 60 }, (_, i) => [i % 2 ? 'negative' : 'paraphrase', 'mine', `question ${i} a`, `question ${i} b`]);
/** Where the tool keeps the vectors of `--embedding-model calibration --dimensions 3` between runs. */
const VECTORS = resolve(__dirname, '../../../bench/results/cache-guard-vectors-gateway-calibration-3.json');

function runTool(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) =>
    execFile(process.execPath, [TOOL, ...args], { env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      done({ code: err ? Number(err.code) : 0, stdout, stderr }),
    ),
  );
}

// Found by an independent check: README tells operators to recalibrate the threshold for the provider's
// embedding model with this tool, which knew only the offline embedders and silently used USE lite for
// any other --embedder value.
describe('the cache-guard calibration tool', () => {
  const setup = gatewayWithFakeUpstream(
    (baseUrl) =>
      configWith({
        providers: [{ name: 'fake', type: 'openai-compatible', baseUrl }],
        models: [{ name: 'calibration', deployments: [{ provider: 'fake', model: 'ok', capabilities: ['embeddings'] }] }],
        security: { keys: [{ id: 'ops', keyEnv: 'OPS_KEY' }] },
      }),
    { env: { GATEWAY_MASTER_KEY: 'gw-master-key-0123456789', OPS_KEY: KEY } },
  );
  const dir = mkdtempSync(join(tmpdir(), 'cache-guard-'));
  const pairs = join(dir, 'pairs.tsv');
  before(() => {
    writeFileSync(pairs, PAIRS.map((fields) => fields.join('\t')).join('\n') + '\n');
    rmSync(VECTORS, { force: true });
  });
  after(() => {
    rmSync(VECTORS, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('embeds with the model a gateway serves, through its /v1/embeddings in batches', async () => {
    const { gateway, upstream } = setup;
    const args = ['--gateway', gateway.url, '--embedding-model', 'calibration', '--api-key-env', 'CALIBRATION_KEY', '--dimensions', '3'];
    const run = await runTool([...args, pairs], { CALIBRATION_KEY: KEY });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^embedder calibration \\(${gateway.url}\\); threshold 0\\.85;`, 'm'));
    const calls = upstream.received.filter((r) => r.path === '/v1/embeddings');
    assert.deepEqual(
      calls.map((r) => [(r.body.input as string[]).length, r.body.dimensions]),
      [
        [100, 3],
        [20, 3],
      ],
    );
    assert.deepEqual(new Set(calls.flatMap((r) => r.body.input as string[])), new Set(PAIRS.flatMap(([, , a, b]) => [a, b])));
    // The fake embeds every text alike (similarity 1): without the guard every pair is served, which
    // USE lite's vectors for these prompts would not do.
    assert.match(run.stdout, /^\| 0\.90 \|.*\| 100\.0% \| 100\.0% \|$/m);
  });

  it('refuses what it cannot do, naming the option, and says why the gateway refused', async () => {
    const url = setup.gateway.url;
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--help'], {}, /Unknown option '--help'/],
      [
        ['--embedder', 'text-embedding-3-small'],
        {},
        /--embedder must be one of use, minilm \(got "text-embedding-3-small"\).*--gateway URL --embedding-model NAME/,
      ],
      [['--gateway', url], {}, /--gateway needs --embedding-model NAME/],
      [['--gateway', 'localhost:3000', '--embedding-model', 'calibration'], {}, /--gateway must be the gateway's base URL/],
      [['--embedding-model', 'calibration'], {}, /--embedding-model goes with --gateway URL/],
      [['--gateway', url, '--embedding-model', 'calibration', '--embedder', 'use'], {}, /--embedder and --gateway are alternatives/],
      [
        ['--gateway', url, '--embedding-model', 'calibration', '--api-key-env', 'NO_SUCH_VARIABLE'],
        {},
        /--api-key-env names NO_SUCH_VARIABLE, which is not set/,
      ],
      [['--gateway', url, '--embedding-model', 'calibration', '--dimensions', '0'], {}, /--dimensions must be a positive integer/],
      [
        ['--gateway', url, '--embedding-model', 'calibration'],
        {},
        /http:\/\/127\.0\.0\.1:\d+\/v1\/embeddings answered 401: .*\(no key sent: --api-key-env VAR names the variable holding one\)/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const run = await runTool([...args, pairs], env);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, new RegExp(`^cache-guard: ${message.source}`), args.join(' '));
      assert.equal(run.stdout, '', args.join(' '));
    }
  });
});
