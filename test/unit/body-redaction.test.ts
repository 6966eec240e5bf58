import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BodyRedactor } from '../../apps/gateway/src/http/body-redaction';

/**
 * Secrets as people paste them into prompts: the text, the secret that must not be logged, and
 * for a `key: value` shape the key and value, to be written as a JSON object too.
 */
const SECRETS: { text: string; secret: string; entry?: [string, string] }[] = [
  { text: 'password: "hunter2-PW1"', secret: 'hunter2-PW1', entry: ['password', 'hunter2-PW1'] },
  { text: 'passphrase is password = "correct horse battery"', secret: 'horse battery', entry: ['db_password', 'correct horse battery'] },
  { text: '"api_key": "k3y-JSON-API"', secret: 'k3y-JSON-API', entry: ['api_key', 'k3y-JSON-API'] },
  {
    text: '"api_key": "sk-proj-ABCDEFGHIJKLMNOPQRSTUV"',
    secret: 'ABCDEFGHIJKLMNOPQRSTUV',
    entry: ['OPENAI_API_KEY', 'sk-proj-ABCDEFGHIJKLMNOPQRSTUV'],
  },
  { text: "token='tok-SINGLE-Q'", secret: 'tok-SINGLE-Q', entry: ['auth_token', 'tok-SINGLE-Q'] },
  { text: 'secret=plain-SECRET-EQ', secret: 'plain-SECRET-EQ', entry: ['client_secret', 'plain-SECRET-EQ'] },
  { text: 'my key is sk-ant-api03-ABCDEFGHIJKLMNOPQRSTUV', secret: 'ABCDEFGHIJKLMNOPQRSTUV' },
  { text: 'Authorization: Bearer abcdefghijklmnop', secret: 'abcdefghijklmnop', entry: ['Authorization', 'Bearer abcdefghijklmnop'] },
  {
    text: 'curl -H "Authorization: Basic dXNlcjpodW50ZXIy"',
    secret: 'dXNlcjpodW50ZXIy',
    entry: ['authorization', 'Basic dXNlcjpodW50ZXIy'],
  },
  { text: 'send it with bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl', secret: 'c2lnbmF0dXJl' },
  { text: 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', secret: 'AKIAIOSFODNN7EXAMPLE', entry: ['aws_access_key_id', 'AKIAIOSFODNN7EXAMPLE'] },
  {
    text: 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    secret: 'wJalrXUtnFEMI',
    entry: ['AWS_SECRET_ACCESS_KEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  },
  {
    text: 'connect to postgres://admin:s3cr3t-PG@db.internal:5432/app',
    secret: 's3cr3t-PG',
    entry: ['database_url', 'postgres://admin:s3cr3t-PG@db/app'],
  },
  { text: 'clone https://me:ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@github.com/x/y', secret: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' },
  { text: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----', secret: 'MIIEowIBAAKCAQEA' },
  { text: 'customer ACME-12345', secret: 'ACME-12345' },
];

/** The ways one secret reaches a prompt: as it is, quoted inside pasted JSON, and as a JSON object's value. */
function prompts(s: (typeof SECRETS)[number]): [string, string][] {
  const forms: [string, string][] = [
    ['plain text', s.text],
    ['a string in pasted JSON', `my config: ${JSON.stringify({ note: s.text })}`],
  ];
  if (s.entry) forms.push(['a pasted JSON object', `here:\n${JSON.stringify(Object.fromEntries([s.entry]), null, 2)}`]);
  return forms;
}

describe('body redaction (LOG_BODIES)', () => {
  const redactor = new BodyRedactor(['ACME-[0-9]+']);
  /** What the access log writes for a prompt: its messages as JSON text, redacted (request-hooks.ts). */
  const logged = (content: string) => redactor.redact(JSON.stringify([{ role: 'user', content }]));

  for (const s of SECRETS) {
    for (const [form, content] of prompts(s)) {
      it(`removes ${s.secret} from ${JSON.stringify(s.text.slice(0, 40))} as ${form}`, () => {
        const line = logged(content);
        assert.ok(!line.includes(s.secret), line);
        assert.match(line, /\[redacted\]/);
      });
    }
  }

  it('keeps the key, the quotes and the words around a secret', () => {
    assert.equal(
      logged('password: "hunter2" and {"api_key": "k3y"} ok'),
      String.raw`[{"role":"user","content":"password: \"[redacted]\" and {\"api_key\": \"[redacted]\"} ok"}]`,
    );
    assert.equal(redactor.redact('db at postgres://admin:pw@host/db'), 'db at postgres://admin:[redacted]@host/db');
  });

  it('leaves text without secrets alone', () => {
    const text = 'The secretary said max_tokens: 100 and the token budget is fine; see https://example.com/a:b.';
    assert.equal(logged(text), JSON.stringify([{ role: 'user', content: text }]));
  });

  it('removes a secret in a tool call argument and in a completion', () => {
    const call = { role: 'assistant', tool_calls: [{ function: { name: 'login', arguments: '{"password":"hunter2"}' } }] };
    assert.doesNotMatch(redactor.redact(JSON.stringify([call])), /hunter2/);
    const completion = { choices: [{ message: { content: 'Use {"api_key": "k3y-OUT"}' } }] };
    assert.doesNotMatch(redactor.redact(JSON.stringify(completion)), /k3y-OUT/);
  });

  // Found by an independent check: the URL pattern on `a.a.a…` and the JWT pattern on `eyJ-eyJ-…`
  // backtracked from every start to the end of the text, so an 80 KB prompt held the event loop
  // for seconds and a 4 MB one would have held it for hours.
  describe('runs in time linear in the text', () => {
    /**
     * A megabyte of each repetition that made a pattern rescan the rest of the text from every
     * start (the URL, JWT and PEM patterns did), or that would if one were written that way. A
     * quadratic pattern takes ~10^12 steps on one of them: hours; a linear one, well under a
     * second. Pass or fail by finishing: each runs in a worker (unref'd), so one that never ends
     * is failed by the test runner's timeout rather than blocking the runner's own thread.
     */
    const SIZE = 1 << 20;
    const REPEATED = [
      'a.', // a URL scheme that never reaches ://
      'eyJ-', // JWT headers that never reach a dot
      'eyJaaaaaaaaaaa.eyJ-', // a JWT's second part that never ends
      '-----BEGIN PRIVATE KEY-----', // PEM blocks that never end
      '-----BEGIN RSA PRIVATE KEY-----\nMIIE-', // a PEM body that never ends
      'a://u:p', // URL passwords without their @
      'password: ', // assignments without a value
      "password='", // quoted values that never close
      'Bearer ',
      'sk-',
      'xoxb-',
      'ghp_a',
      'AKIA',
    ];
    const redactIn = (unit: string) =>
      new Promise<number>((done, fail) => {
        const worker = new Worker(
          `const { workerData: w, parentPort } = require('node:worker_threads');
           const { BodyRedactor } = require(w.module);
           parentPort.postMessage(new BodyRedactor([], ['known-secret-0123456789']).redact(w.unit.repeat(w.times)).length);`,
          {
            eval: true,
            workerData: {
              module: require.resolve('../../apps/gateway/src/http/body-redaction'),
              unit,
              times: Math.ceil(SIZE / unit.length),
            },
          },
        );
        worker.unref();
        worker.once('message', done);
        worker.once('error', fail);
      });
    for (const unit of REPEATED) {
      it(JSON.stringify(unit), async () => {
        assert.ok((await redactIn(unit)) > 0);
      });
    }
  });

  // Found by an independent check: a key the gateway holds, in no known shape, was logged as sent.
  it('removes the secrets the gateway holds (master, config, admin and provider keys), whatever their shape', () => {
    const known = ['MASTER-of-no-known-shape-1', 'tenant-key-no-shape-22', 'ollama-like'];
    const withKnown = new BodyRedactor([], [...known, 'none']);
    const line = withKnown.redact(JSON.stringify([{ role: 'user', content: `keys ${known.join(' and ')}, or none` }]));
    for (const secret of known) assert.ok(!line.includes(secret), line);
    assert.match(
      line,
      /keys \[redacted\] and \[redacted\] and \[redacted\], or none/,
      'a placeholder shorter than 8 characters is no secret',
    );
  });
});
