import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

const dir = mkdtempSync(join(tmpdir(), 'gateway-startup-exit-'));
const badYaml = join(dir, 'bad.yaml');
writeFileSync(badYaml, 'server:\n  port: [\n');

/**
 * Start-up failures the configuration causes stop with exit 78 and one line naming what to change, no
 * stack trace. Found by an independent check: these exited 1 with a stack trace or a code frame.
 */
describe('start-up failures the configuration can fix: exit 78, one line', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      'an unreadable REDIS_TLS_CA_FILE',
      { REDIS_URL: 'rediss://127.0.0.1:1', REDIS_TLS_CA_FILE: join(dir, 'missing-ca.pem') },
      /^ai-gateway: redis\.tlsCaFile \(REDIS_TLS_CA_FILE\): cannot read \S+missing-ca\.pem: ENOENT/,
    ],
    ['invalid YAML', { GATEWAY_CONFIG: badYaml }, /^ai-gateway: invalid YAML in gateway config \S+bad\.yaml: .* at line 3, column 1$/],
  ];
  for (const [name, env, line] of cases) {
    it(name, async () => {
      const gateway = await GatewayProcess.start(configWith(), { expectExit: true, env });
      if (gateway.exitCode === null) await gateway.stop();
      assert.equal(await gateway.waitForExit(), 78);
      const notJson = gateway.rawOutput.filter((l) => !l.startsWith('{'));
      assert.equal(notJson.length, 1, `one line, no stack trace:\n${gateway.rawOutput.join('\n')}`);
      assert.match(notJson[0], line);
    });
  }
});

/**
 * Raised by a rolling-upgrade check (upgrade24 D4): rules this release added stopped it (exit 78) on a config the
 * last release ran with, so a `helm upgrade` with unchanged values crash-looped. They warn, naming the path.
 */
describe('rules this release added, on a config the last release ran with: a warning, not exit 78', () => {
  it('starts with a defaultTpm below the defaultRpm and a config key budget over $1,000,000, naming each path', async () => {
    const config = configWith({
      security: {
        defaultRpm: 60,
        defaultTpm: 30,
        keys: [{ id: 'big', keyEnv: 'BIG_KEY', rpm: 10, tpm: 100, budget: { usd: 5_000_000, period: 'monthly' } }],
      },
    });
    const gateway = await GatewayProcess.start(config, { env: { BIG_KEY: 'big-key-0123456789abcdef' } });
    try {
      const warned = await gateway.logged(/^config: security\./, { count: 2 });
      assert.deepEqual(
        warned.map((l) => [l.level, String(l.msg).split(':').slice(0, 2).join(':')]),
        [
          [40, 'config: security.defaultTpm'],
          [40, 'config: security.keys[0].budget.usd'],
        ],
      );
      assert.equal((await fetch(`${gateway.url}/health`)).status, 200, 'serving');
    } finally {
      await gateway.stop();
    }
  });
});
