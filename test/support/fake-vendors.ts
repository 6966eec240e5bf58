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

/** A model group of the gateway's config: its name, then each deployment's provider and the fake's model. */
export type FakeGroup = [name: string, ...deployments: [provider: string, model: string][]];

/** What FakeVendors' hooks started, once they ran. */
export interface Served {
  gateway: GatewayProcess;
  client: OpenAI;
}

type ClientOptions = Parameters<GatewayProcess['client']>[0];

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
  serve(models: string[][], config: object = {}): Served {
    const groups = models.map(([provider, model, name]): FakeGroup => [name!, [provider!, model!]]);
    return this.serveGroups(groups, { deployment: { maxOutputTokens: 1000, capabilities: ['tools', 'json', 'vision'] }, config });
  }

  /**
   * The same for groups of deployments, each with `deployment`'s settings; the client is made with `clientOptions`
   * (`maxRetries: 0`: the test counts what the fakes were asked).
   */
  serveGroups(
    groups: FakeGroup[],
    { deployment = {}, config = {}, clientOptions = {} }: { deployment?: object; config?: object; clientOptions?: ClientOptions } = {},
  ): Served {
    const served = {} as Served;
    before(async () => {
      const providers = await this.start();
      const models = groups.map(([name, ...deployments]) => ({
        name,
        deployments: deployments.map(([provider, model]) => ({ provider, model, ...deployment })),
      }));
      served.gateway = await GatewayProcess.start(configWith({ providers, models, ...config }), { env: this.env });
      served.client = served.gateway.client(clientOptions);
    });
    after(async () => {
      await served.gateway?.stop();
      await this.stop();
    });
    return served;
  }

  /** How many requests the fakes got for the upstream model `model` (Gemini's names it in the path). */
  asked(model: string): number {
    return (
      [this.openai, this.anthropic].flatMap((v) => v.received).filter((r) => r.body.model === model).length +
      this.gemini.received.filter((r) => r.path.includes(`/${model}:`)).length
    );
  }

  async stop(): Promise<void> {
    await Promise.all([this.openai.stop(), this.anthropic.stop(), this.gemini.stop()]);
  }
}
