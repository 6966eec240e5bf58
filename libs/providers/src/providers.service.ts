import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { GatewayConfig, type ProviderType, secretFromEnv } from '@gateway/config';
import { MockProvider } from './mock/adapter';
import { OpenAIProvider } from './openai/adapter';
import type { Provider, ProviderFactory } from './provider';

/**
 * One factory per provider type; a type missing here is not available in this build.
 * The vendor adapters are loaded only when such a provider is enabled: their SDKs take
 * a few hundred milliseconds to load, most of a cold start without them.
 */
const FACTORIES: Partial<Record<ProviderType, ProviderFactory>> = {
  openai: (config, key) => new OpenAIProvider(config, key),
  'openai-compatible': (config, key) => new OpenAIProvider(config, key),
  anthropic: (config, key) => {
    const { AnthropicProvider } = require('./anthropic/adapter') as typeof import('./anthropic/adapter');
    return new AnthropicProvider(config, key);
  },
  gemini: (config, key) => {
    const { GeminiProvider } = require('./gemini/adapter') as typeof import('./gemini/adapter');
    return new GeminiProvider(config, key);
  },
  mock: (config) => new MockProvider(config),
};

/**
 * Builds every configured provider once at start-up. A provider whose API key is
 * missing from the environment is disabled with one warning, never a crash.
 */
@Injectable()
export class ProvidersService implements OnApplicationShutdown {
  private readonly logger = new Logger('Providers');
  private readonly enabled = new Map<string, Provider>();
  private readonly disabled = new Map<string, string>();

  constructor(config: GatewayConfig) {
    for (const p of config.providers) {
      const factory = FACTORIES[p.type];
      if (!factory) throw new Error(`provider ${p.name}: type "${p.type}" is not available in this build`);
      const key = p.apiKeyEnv ? secretFromEnv(p.apiKeyEnv) : undefined;
      if (p.apiKeyEnv && !key) {
        this.disabled.set(p.name, `set ${p.apiKeyEnv} to enable it`);
        this.logger.warn(`provider ${p.name} disabled: ${p.apiKeyEnv} is not set`);
        continue;
      }
      this.enabled.set(p.name, factory(p, key));
    }
  }

  /** The provider, or undefined when it is disabled. */
  get(name: string): Provider | undefined {
    return this.enabled.get(name);
  }

  /** The providers that are enabled, by name. */
  enabledNames(): string[] {
    return [...this.enabled.keys()];
  }

  /** Why a configured provider is disabled (for error messages). */
  whyDisabled(name: string): string | undefined {
    return this.disabled.get(name);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.enabled.values()].map((p) => p.close()));
  }
}
