import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withoutInferredNames } from '../../apps/gateway/scripts/inferred-names';

// esbuild's keepNames output shapes, as they appear in the bundle; each reports the names
// its functions end up with.
const SOURCE = `
var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });
const names = [];
function outer() {
  function next() {}
  __name(next, "next");
  const onEnd = __name(() => 1, "onEnd");
  const ctx = { getRequest: __name(() => 2, "getRequest"), "quoted": __name(() => 3, "quoted") };
  let later;
  later = __name(() => 4, "later");
  const passed = [__name(() => 5, "passedAsArgument")];
  const renamed = __name(() => 6, "original");
  const own = __name(function own() {}, "own");
  const ownOther = __name(function inner() {}, "ownOther");
  const member = {};
  member.prop = __name(() => 7, "prop");
  const nested = __name(() => __name(() => 8, "deep"), "nested");
  class RouterModule3 { static { __name(this, "RouterModule"); } }
  const Cls = __name(class {}, "Cls");
  names.push(next.name, onEnd.name, ctx.getRequest.name, ctx.quoted.name, later.name, passed[0].name, renamed.name,
    own.name, ownOther.name, member.prop.name, nested.name, nested().name, RouterModule3.name, Cls.name);
}
outer();
names;
`;

describe('bundle: keepNames calls the language makes needless (withoutInferredNames)', () => {
  it('gives every function the name keepNames gave it', () => {
    const transformed = withoutInferredNames(SOURCE);
    assert.deepStrictEqual(eval(transformed), eval(SOURCE));
  });

  it('takes out the calls that name what the language names, and keeps the others', () => {
    const transformed = withoutInferredNames(SOURCE);
    for (const gone of ['"next"', '"onEnd"', '"getRequest"', '"later"', '"own"', '"nested"', '"Cls"'])
      assert.ok(!transformed.includes(gone), `${gone} still wrapped`);
    for (const kept of ['"passedAsArgument"', '"original"', '"ownOther"', '"prop"', '"RouterModule"', '"quoted"', '"deep"'])
      assert.ok(transformed.includes(kept), `${kept} no longer wrapped`);
  });
});
