import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const read = (file: string) => readFileSync(resolve(__dirname, '../../..', file), 'utf8');

/** The full / lean column of the ratios table bench/run.sh writes into BENCHMARKS.md for its latest run. */
function latestFullOverLean(benchmarks: string): number[] {
  const lines = benchmarks.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| Mode | c | lean / Portkey | full / Portkey | full / lean |'));
  assert.ok(header >= 0, 'BENCHMARKS.md has the ratios table of its latest run');
  const end = lines.findIndex((line, i) => i > header && !line.startsWith('|'));
  return lines.slice(header + 2, end).map((row) => Number(row.split('|')[5]));
}

// Found by an independent check: README quoted 0.87–0.95× for the latest run when BENCHMARKS.md's run
// AH, which bench/run.sh had written since, gave 0.81–0.99×.
describe('README figures quoted from the latest benchmark run', () => {
  it("the production shape's speed against lean is BENCHMARKS.md's latest full / lean range", () => {
    const ratios = latestFullOverLean(read('BENCHMARKS.md'));
    assert.equal(ratios.length, 6);
    const quoted = /\(([\d.]+)–([\d.]+)× in the latest run\)/.exec(read('README.md'));
    assert.ok(quoted, 'README quotes the latest run');
    const range = (values: number[]) => [Math.min(...values), Math.max(...values)].map((n) => n.toFixed(2));
    assert.deepEqual([quoted[1], quoted[2]], range(ratios));
  });
});
