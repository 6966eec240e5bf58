import { FakeAnthropic } from '../test/support/fake-anthropic';
import { FakeGemini } from '../test/support/fake-gemini';
import { FakeOpenAI } from '../test/support/fake-openai';

/**
 * The fake vendor APIs for bench/vendors.ts, in a process of their own so the bench
 * counts only the gateway side's CPU. Prints their base URLs as one JSON line and
 * runs until its parent closes stdin.
 */
async function main(): Promise<void> {
  const key = process.argv[2] ?? 'bench-key';
  const fakes = { anthropic: new FakeAnthropic(key), gemini: new FakeGemini(key), openai: new FakeOpenAI() };
  const urls = { anthropic: await fakes.anthropic.start(), gemini: await fakes.gemini.start(), openai: await fakes.openai.start() };
  process.stdout.write(`${JSON.stringify(urls)}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

void main();
