import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRecord } from '../../libs/security/src/admin/key-changes';
import type { KeyRecord } from '../../libs/security/src/key-record';

// Found by an independent check (doubtful point F): the admin API stored a key's `name` and `metadata` with
// CR/LF and a forged log line, NUL, a lone surrogate and U+202E (a right-to-left override that makes a list
// of keys show another name than the key's), and echoed them.
describe("admin API: a key's text holds no control, bidi or unpaired surrogate characters", () => {
  const record = (fields: Partial<KeyRecord>) => ({ id: 'k1', source: 'admin', ...fields }) as KeyRecord;
  const refused = (change: Partial<KeyRecord>, param: string, code: string) =>
    assert.throws(
      () => checkRecord(record(change), change),
      (err: Error & { status?: number; param?: string }) =>
        err.status === 400 && err.param === param && err.message.includes(`(found ${code})`),
      `${param} ${code}`,
    );

  it('refuses each, naming the field and the character', () => {
    refused({ name: 'ops\u202etxt.exe' }, 'name', 'U+202E');
    refused({ name: 'a\r\n{"level":50,"msg":"forged"}' }, 'name', 'U+000D');
    refused({ owner: 'team\u0000' }, 'owner', 'U+0000');
    refused({ owner: 'x\u2066y' }, 'owner', 'U+2066');
    refused({ name: 'half \ud800 pair' }, 'name', 'U+D800');
    refused({ name: 'tail \udc00' }, 'name', 'U+DC00');
    refused({ name: 'c1 \u009b' }, 'name', 'U+009B');
    refused({ metadata: { team: 'a\u001b[31m' } }, 'metadata.team', 'U+001B');
    refused({ metadata: { 'te\u202eam': 'a' } }, 'metadata', 'U+202E');
  });

  it('takes any other Unicode text: accents, CJK, emoji (a pair of surrogates), right-to-left scripts', () => {
    const change = { name: 'Équipe 東京 👋 فريق', owner: 'ops — on call', metadata: { équipe: 'שלום', note: 'a "quoted" value' } };
    checkRecord(record(change), change);
  });
});
