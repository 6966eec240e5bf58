import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

const CODEX_VERSION = '0.171.0';
/** Installed once by this test (the CLI is a 400 MB native binary, so it is not a devDependency). */
const CODEX_DIR = resolve(__dirname, '../../../node_modules/.cache', `codex-${CODEX_VERSION}`);
const CODEX = join(CODEX_DIR, 'node_modules/.bin/codex');
const MASTER = 'test-master-key-0123456789';
const KEY = 'codex-client-key-0123456789';
const skip = !(process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch)) && 'the Codex CLI test runs on Linux x64/arm64';

/**
 * What the README's Codex section configures, plus what keeps a test run on loopback:
 * no web search (an OpenAI-hosted tool), no update check, analytics or plugin sync.
 */
function codexConfig(baseUrl: string): string {
  return `model = "mock"
model_provider = "gateway"
web_search = "disabled"
check_for_update_on_startup = false

[model_providers.gateway]
name = "AI Gateway"
base_url = "${baseUrl}/v1"
env_key = "GATEWAY_API_KEY"
wire_api = "responses"

[analytics]
enabled = false
`;
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }) {
  return new Promise<{ code: number | null; output: string }>((done, fail) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], timeout: options.timeoutMs });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', fail);
    child.once('exit', (code) => done({ code, output }));
  });
}

describe('Codex CLI (codex exec) against the gateway and the mock model', { skip, timeout: 900_000 }, () => {
  let gateway: GatewayProcess;

  before(
    async () => {
      if (!existsSync(CODEX)) {
        mkdirSync(CODEX_DIR, { recursive: true });
        const npm = await run(
          'npm',
          ['install', '--prefix', CODEX_DIR, '--no-audit', '--no-fund', '--loglevel=error', `@openai/codex@${CODEX_VERSION}`],
          {
            timeoutMs: 600_000,
          },
        );
        assert.equal(npm.code, 0, `installing @openai/codex failed:\n${npm.output}`);
      }
      gateway = await GatewayProcess.start(configWith({ security: { keys: [{ id: 'codex', keyEnv: 'CODEX_KEY' }] } }), {
        env: { GATEWAY_MASTER_KEY: MASTER, CODEX_KEY: KEY },
      });
    },
    { timeout: 700_000 },
  );

  after(() => gateway?.stop());

  it('an agent turn: the mock model calls the shell tool, Codex runs it, the result comes back', async () => {
    const home = mkdtempSync(join(tmpdir(), 'codex-home-'));
    const work = mkdtempSync(join(tmpdir(), 'codex-work-'));
    writeFileSync(join(home, 'config.toml'), codexConfig(gateway.url));
    // The mock model calls the first tool (exec_command) with the prompt as its command, so the
    // prompt is the command Codex runs. It is fixed here, hence no sandbox: CI containers often
    // lack the user namespaces Codex's sandbox needs.
    const { code, output } = await run(
      CODEX,
      [
        'exec',
        '--skip-git-repo-check',
        '--sandbox',
        'danger-full-access',
        '--disable',
        'plugins',
        '--disable',
        'remote_plugin',
        '--disable',
        'apps',
        'echo codex-gateway-ok',
      ],
      { cwd: work, env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home, GATEWAY_API_KEY: KEY }, timeoutMs: 180_000 },
    );
    assert.equal(code, 0, output);
    assert.match(output, /The tool returned:[\s\S]*codex-gateway-ok/, output);
    const requests = await gateway.logged('request', { where: (l) => l.route === '/v1/responses', count: 2 });
    assert.equal(requests.length, 2, 'a tool call turn and the answer turn');
    for (const r of requests) assert.deepEqual([r.status, r.keyId], [200, 'codex']);
  });
});
