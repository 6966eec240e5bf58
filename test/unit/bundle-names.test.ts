import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namedByJavaScript } from '../../apps/gateway/scripts/bundle-names';

/** keepNames' helper as esbuild writes it: `name` set whatever the function's own. */
const HELPER = 'var __name=(target,value)=>Object.defineProperty(target,"name",{value,configurable:true});';

/** What esbuild's keepNames writes in a function run per request, each way it names a function. */
const SOURCE = `${HELPER}
function outer(){
  let later=__name(()=>1,"later"),renamed2=__name(()=>2,"renamed");
  const o={key:__name(async()=>3,"key"),"str":__name(function(){},"str"),[("com"+"puted")]:__name(()=>0,"computed")};
  let assigned;assigned=__name(()=>4,"assigned");
  o.member=__name(()=>7,"member");
  function inner(){}__name(inner,"inner");
  function first(){}function second(){}let count=0;__name(first,"first"),count++,__name(second,"second"),count++,__name(inner,"inner");
  class C{field=__name(()=>5,"field");static{__name(this,"C")}}
  const nested=__name(()=>{const deep=__name(()=>6,"deep");return deep},"nested");
  const named=__name(function own(){},"named");
  return {count,first,second,later,renamed2,key:o.key,str:o.str,computed:o.computed,member:o.member,assigned,inner,C,field:new C().field,nested,deep:nested(),named};
}
__name(outer,"outer");`;

function namesIn(source: string): Record<string, string | number> {
  const made = new Function(`${source} return outer();`)() as Record<string, { name: string } | number>;
  return Object.fromEntries(Object.entries(made).map(([key, fn]) => [key, typeof fn === 'number' ? fn : fn.name]));
}

function namingCalls(source: string): string[] {
  return [...source.matchAll(/__name\((.{0,30}?),"(\w+)"\)/g)].map((m) => m[2]);
}

describe('namedByJavaScript (apps/gateway/scripts/bundle-names.ts)', () => {
  const edited = namedByJavaScript(SOURCE);

  it('every function keeps the name keepNames gave it', () => {
    assert.deepEqual(namesIn(edited), namesIn(SOURCE));
    assert.equal(namesIn(edited).deep, 'deep');
  });

  it('drops the calls JavaScript makes needless, and keeps the others', () => {
    // Kept: a name esbuild changed the variable's from, a computed key, a member, a class, a function with its own name.
    assert.deepEqual(namingCalls(edited).sort(), ['C', 'computed', 'member', 'named', 'renamed']);
    assert.match(edited, /let later=\(\)=>1,renamed2=__name\(\(\)=>2,"renamed"\)/);
    assert.match(edited, /let count=0;count\+\+,count\+\+;/);
  });
});
