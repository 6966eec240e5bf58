import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { configWith, GatewayProcess } from '../support/gateway';

/**
 * What the bundle keeps out of a running gateway's memory (apps/gateway/scripts/bundle.ts).
 * An Intl.DateTimeFormat maps ~6 MiB of ICU's locale data and code into the process, and
 * @nestjs/common builds two as it loads, for a console logger pino replaces.
 */
describe('the started gateway builds no date formatter it does not use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'footprint-'));
  const preload = join(dir, 'count-date-formats.cjs');
  writeFileSync(
    preload,
    `const Built = Intl.DateTimeFormat;
process.stderr.write('date-format probe loaded\\n');
Intl.DateTimeFormat = new Proxy(Built, {
  construct(target, args) {
    process.stderr.write('Intl.DateTimeFormat built: ' + new Error().stack.split('\\n').slice(2, 5).join(' | ') + '\\n');
    return Reflect.construct(target, args);
  },
});
`,
  );
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await GatewayProcess.start(configWith({}), { env: { NODE_OPTIONS: `--require ${preload}` } });
    const client = gateway.client();
    await client.chat.completions.create({ model: 'mock-1', messages: [{ role: 'user', content: 'hi' }] });
    await gateway.logged('request');
  });
  after(() => gateway?.stop());

  it('loads, serves and logs without one', () => {
    assert.ok(gateway.rawOutput.includes('date-format probe loaded'), 'the probe ran in the gateway');
    assert.deepEqual(
      gateway.rawOutput.filter((l) => l.startsWith('Intl.DateTimeFormat built')),
      [],
    );
  });
});
