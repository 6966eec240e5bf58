/**
 * Patterns removed from prompt and completion bodies before they are logged (only
 * when LOG_BODIES is on): common API key shapes, bearer tokens, and `key: value`
 * pairs whose key names a secret. Configured patterns (`server.redactPatterns`) add to these.
 */
const SECRET_PATTERNS = [
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic (sk-ant-…) and gateway-style keys
  /\bgw-[A-Za-z0-9_-]{16,}/g, // gateway virtual keys
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API keys
  /\bAKIA[0-9A-Z]{16}\b/g, // AWS access key ids
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, // GitHub tokens
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /("?(?:api[_-]?key|password|passwd|secret|token)"?\s*[:=]\s*"?)[^"\s,}]+/gi,
];

export const REDACTED = '[redacted]';

export class BodyRedactor {
  private readonly patterns: RegExp[];

  constructor(extra: string[] = []) {
    this.patterns = [...SECRET_PATTERNS, ...extra.map((p) => new RegExp(p, 'g'))];
  }

  redact(text: string): string {
    return this.patterns.reduce(
      (out, re) =>
        out.replace(re, (match, keyPart?: string) =>
          typeof keyPart === 'string' && match.startsWith(keyPart) ? keyPart + REDACTED : REDACTED,
        ),
      text,
    );
  }
}
