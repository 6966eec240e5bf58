import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { GatewayProcess } from '../support/gateway';

const REPO_ROOT = resolve(__dirname, '../../..');

/**
 * Every gateway_* and gen_ai_* family /metrics exposes is named in the docs (the README's list of metrics, or docs/). Found by an
 * independent check (ops28 D4): six were documented nowhere, one of them on the chart's dashboard.
 */
describe('metrics documentation', () => {
  it("names every gateway_* and gen_ai_* family the shipped config's /metrics exposes in the docs", async () => {
    const config = parseYaml(readFileSync(resolve(REPO_ROOT, 'config/gateway.yaml'), 'utf8'));
    const gateway = await GatewayProcess.start(config, { env: { GATEWAY_MASTER_KEY: 'sk-metrics-docs-0123456789' } });
    try {
      const text = await (await fetch(`${gateway.opsUrl}/metrics`)).text();
      const families = [...text.matchAll(/^# TYPE ((?:gateway|gen_ai)_\w+) /gm)].map((m) => m[1]);
      assert.ok(families.length > 20, `families read from /metrics:\n${families.join('\n')}`);
      const docs = ['README.md', ...readdirSync(join(REPO_ROOT, 'docs')).map((f) => join('docs', f))]
        .filter((f) => f.endsWith('.md'))
        .map((f) => readFileSync(join(REPO_ROOT, f), 'utf8'))
        .join('\n');
      assert.deepEqual(
        families.filter((name) => !new RegExp(`\\b${name}\\b`).test(docs)),
        [],
        'families /metrics exposes that no doc names',
      );
    } finally {
      await gateway.stop();
    }
  });
});
