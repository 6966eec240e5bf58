/**
 * A quote as it stands in the logged text, which is JSON: `"` or `'`, after the backslashes
 * that escape it once per level of JSON it sits in (a prompt's `password: "x"` is logged as
 * `password: \"x\"`, JSON pasted into a prompt as `{\"api_key\": \"x\"}`).
 */
const QUOTE = String.raw`\\*["']`;

/**
 * `<key>: <value>` (or `=`), the key quoted or not, naming a secret: `password`, `api_key`,
 * `client_secret`, `AWS_SECRET_ACCESS_KEY`, `auth_token`, `Authorization`… The key and quotes
 * are kept; the value goes, whole when quoted (spaces and all), else up to the next space,
 * quote or delimiter, with an auth scheme before it (`Basic …`).
 */
const SECRET_ASSIGNMENT = new RegExp(
  String.raw`(?<keep>\b[\w-]{0,32}?(?:api[_-]?key|access[_-]?key|private[_-]?key|passw(?:or)?d|secret|token|credentials?|authorization)(?:${QUOTE})?\s*[:=]\s*)` +
    String.raw`(?:(?<q>${QUOTE})(?:(?!\k<q>)[^\r\n]){1,256}\k<q>|(?:(?:bearer|basic|token)\s+)?[^\s"'\\,;}\]]+)`,
  'gi',
);

/**
 * Patterns removed from prompt and completion bodies before they are logged (only when
 * LOG_BODIES is on): secret assignments first (so the auth scheme goes with its token), then
 * credential shapes wherever they appear. Configured patterns (`server.redactPatterns`) add to
 * these. Named groups say what stays: `keep` before the redaction, `q` around it.
 *
 * Each runs in time linear in the text (a body is up to 4 MiB, and the access log line is
 * written on the event loop): a match may only start where a scan started from an earlier
 * position cannot have passed over, or its scan is bounded. So the URL scheme is at most 32
 * characters (a scan from each letter of `a.a.a…` to the end was quadratic), a JWT starts
 * where no JWT character precedes it (from each `eyJ` of `eyJ-eyJ-…` likewise), and a PEM
 * body ends at the first run of five dashes (from each BEGIN line to the text's end).
 * test/unit/body-redaction.test.ts runs them on megabyte inputs built to be quadratic.
 */
const SECRET_PATTERNS = [
  SECRET_ASSIGNMENT,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /(?<keep>\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@"'\\]*:)[^\s/@"'\\]+(?=@)/gi, // the password in scheme://user:password@host
  /\bsk-[A-Za-z0-9_-]{16,}/g, // OpenAI, Anthropic (sk-ant-…) and gateway-style keys
  /\bgw-[A-Za-z0-9_-]{16,}/g, // gateway virtual keys
  /\bAIza[0-9A-Za-z_-]{35}\b/g, // Google API keys
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g, // AWS access key ids (long-term, temporary)
  /\bgh[pousr]_[A-Za-z0-9]{36,}\b/g, // GitHub tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}/g, // Slack tokens
  /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/g, // Stripe keys
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*/g, // JWTs
  /-----BEGIN[A-Z ]* PRIVATE KEY-----[^-]*(?:-{1,4}[^-]+)*-----END[A-Z ]* PRIVATE KEY-----/g,
];

export const REDACTED = '[redacted]';

/**
 * Known secrets shorter than this are not redacted: a placeholder key such as `none` for a
 * local server guards nothing, and removing every `none` from the log would garble it.
 */
const MIN_KNOWN_SECRET = 8;

export class BodyRedactor {
  private readonly patterns: RegExp[];
  private readonly known: string[];

  /**
   * `extra`: the configured patterns; `known`: the exact secrets the gateway holds (its keys:
   * configSecrets), removed first whatever their shape, the longest first so that one
   * containing another goes whole.
   */
  constructor(extra: string[] = [], known: string[] = []) {
    this.patterns = [...SECRET_PATTERNS, ...extra.map((p) => new RegExp(p, 'g'))];
    this.known = known.filter((s) => s.length >= MIN_KNOWN_SECRET).sort((a, b) => b.length - a.length);
  }

  /** `text` (a body as JSON text) without the secrets it holds, however deeply they are escaped. */
  redact(text: string): string {
    const withoutKnown = this.known.reduce((out, secret) => out.replaceAll(secret, REDACTED), text);
    return this.patterns.reduce(
      (out, re) =>
        out.replace(re, (...args: unknown[]) => {
          // With named groups, the last argument holds them; without, it is the whole text.
          const groups = args.at(-1) as { keep?: string; q?: string } | string;
          if (typeof groups === 'string') return REDACTED;
          const q = groups.q ?? '';
          return `${groups.keep ?? ''}${q}${REDACTED}${q}`;
        }),
      withoutKnown,
    );
  }
}
