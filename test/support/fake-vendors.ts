import { after, before } from 'node:test';
import type OpenAI from 'openai';
import { FakeAnthropic } from './fake-anthropic';
import { FakeGemini } from './fake-gemini';
import { FakeOpenAI } from './fake-openai';
import { configWith, GatewayProcess } from './gateway';

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

  /**
   * Registers hooks that start the fakes and a gateway serving `models` ([provider, the fake's model,
   * the gateway's name for it]) before the tests, and stop them after; what they started is in the
   * object returned, once started. `config`: more of the gateway's config (`cache`…).
   */
  serve(models: string[][], config: object = {}): { gateway: GatewayProcess; client: OpenAI } {
    const served = {} as { gateway: GatewayProcess; client: OpenAI };
    before(async () => {
      const providers = await this.start();
      const on = ([provider, model, name]: string[]) => ({
        name,
        deployments: [{ provider, model, maxOutputTokens: 1000, capabilities: ['tools', 'json', 'vision'] }],
      });
      served.gateway = await GatewayProcess.start(configWith({ providers, models: models.map(on), ...config }), { env: this.env });
      served.client = served.gateway.client();
    });
    after(async () => {
      await served.gateway?.stop();
      await this.stop();
    });
    return served;
  }

  async stop(): Promise<void> {
    await Promise.all([this.openai.stop(), this.anthropic.stop(), this.gemini.stop()]);
  }
}
