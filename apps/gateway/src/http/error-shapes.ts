import type { FastifyRequest } from 'fastify';
import type { GatewayError } from '@gateway/providers';
import { ANTHROPIC_ERRORS, isAnthropicRequest } from '../messages/errors';

/** How one ingress protocol writes an error: as a response, and as the frame that ends a broken stream. */
export interface ErrorShape {
  status(error: GatewayError): number;
  body(error: GatewayError, requestId: string): object;
  streamFrame(error: GatewayError, requestId: string): string;
}

const OPENAI_ERRORS: ErrorShape = {
  status: (error) => error.status,
  body: (error) => error.toJSON(),
  streamFrame: (error) => `data: ${JSON.stringify(error.toJSON())}\n\n`,
};

/** Protocols whose clients expect their own error shape, by how their requests are recognised; OpenAI's otherwise. */
const PROTOCOLS: [(request: FastifyRequest) => boolean, ErrorShape][] = [[isAnthropicRequest, ANTHROPIC_ERRORS]];

/** The error shape of the protocol the caller speaks. */
export function errorShape(request: FastifyRequest): ErrorShape {
  return PROTOCOLS.find(([matches]) => matches(request))?.[1] ?? OPENAI_ERRORS;
}
