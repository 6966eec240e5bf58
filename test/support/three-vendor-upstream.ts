import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The three wire formats, as the providers `providers()` names them: OpenAI-format, Anthropic, Gemini. */
export const VENDORS = ['oa', 'ant', 'gem'] as const;
export type Vendor = (typeof VENDORS)[number];

/** The vendor whose wire format a path is. */
export function vendorOf(path: string): Vendor {
  if (path.startsWith('/v1/messages')) return 'ant';
  return path.startsWith('/v1beta/') ? 'gem' : 'oa';
}

/**
 * One fake upstream for the three wire formats on 127.0.0.1: `answer` writes the answer for the vendor the
 * path speaks and the model asked for (in the body, or in Gemini's path); `body` is the request's, as sent.
 */
export class ThreeVendorUpstream {
  private readonly server: Server;
  private url = '';

  constructor(answer: (vendor: Vendor, model: string, res: ServerResponse, body: string) => void) {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString();
      const model = /\/models\/([^:]+):/.exec(req.url!)?.[1] ?? (JSON.parse(body) as { model: string }).model;
      answer(vendorOf(req.url!), model, res, body);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A provider of each vendor on this upstream, named as in VENDORS (the vendors' keys from `FAKE_KEY`). */
  providers() {
    return [
      { name: 'oa', type: 'openai-compatible', baseUrl: `${this.url}/v1`, apiKeyEnv: 'FAKE_KEY' },
      { name: 'ant', type: 'anthropic', baseUrl: this.url, apiKeyEnv: 'FAKE_KEY' },
      { name: 'gem', type: 'gemini', baseUrl: this.url, apiKeyEnv: 'FAKE_KEY' },
    ];
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
