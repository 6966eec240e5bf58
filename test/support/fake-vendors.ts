import { FakeAnthropic } from './fake-anthropic';
import { FakeGemini } from './fake-gemini';
import { FakeOpenAI } from './fake-openai';

const ANTHROPIC_KEY = 'sk-ant-fake';
const GEMINI_KEY = 'gemini-fake';

/** A provider entry of the gateway's config. */
export interface FakeProvider {
  name: string;
  type: string;
  baseUrl: string;
  apiKeyEnv?: string;
}

/**
 * One fake upstream per vendor wire format, and the providers that reach them: `oa`
 * (openai-compatible), `ant` (anthropic) and `gem` (gemini); the gateway needs `env` for their keys.
 */
export class FakeVendors {
  readonly openai = new FakeOpenAI();
  readonly anthropic = new FakeAnthropic(ANTHROPIC_KEY);
  readonly gemini = new FakeGemini(GEMINI_KEY);
  readonly env = { FAKE_ANT_KEY: ANTHROPIC_KEY, FAKE_GEM_KEY: GEMINI_KEY };

  async start(): Promise<FakeProvider[]> {
    const [oa, ant, gem] = await Promise.all([this.openai.start(), this.anthropic.start(), this.gemini.start()]);
    return [
      { name: 'oa', type: 'openai-compatible', baseUrl: oa },
      { name: 'ant', type: 'anthropic', baseUrl: ant, apiKeyEnv: 'FAKE_ANT_KEY' },
      { name: 'gem', type: 'gemini', baseUrl: gem, apiKeyEnv: 'FAKE_GEM_KEY' },
    ];
  }

  async stop(): Promise<void> {
    await Promise.all([this.openai.stop(), this.anthropic.stop(), this.gemini.stop()]);
  }
}
