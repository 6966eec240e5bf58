import { GatewayError } from '../gateway-error';
import type { ChatCompletionMessageParam } from '../wire';

/**
 * One OpenAI content part, read into what a vendor needs to build its own block:
 * text, inline bytes (base64) with their media type, or a remote URL.
 */
export type MediaPart =
  | { kind: 'text'; text: string }
  | { kind: 'inline'; mediaType: string; data: string }
  | { kind: 'url'; url: string; mediaType: string | undefined };

type Part = Record<string, unknown> & { type: string };

/** Media types by file extension, for remote URLs whose vendor wants one. */
const MEDIA_TYPE_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

const AUDIO_MEDIA_TYPE: Record<string, string> = { wav: 'audio/wav', mp3: 'audio/mpeg' };

/** Media type names OpenAI accepts in data URLs that the other vendors know only by their registered name. */
const MEDIA_TYPE_ALIASES: Record<string, string> = { 'image/jpg': 'image/jpeg' };

/** How each OpenAI part type is read; a type missing here is refused with a 400. */
const PART_READERS: Record<string, (part: Part, param: string) => MediaPart> = {
  text: (part) => ({ kind: 'text', text: String(part.text ?? '') }),
  // Assistant history may carry a refusal part; the vendor sees it as what was said.
  refusal: (part) => ({ kind: 'text', text: String(part.refusal ?? '') }),
  image_url: (part, param) => readUrl(String((part.image_url as { url?: unknown } | undefined)?.url ?? ''), `${param}.image_url.url`),
  input_audio: (part, param) => {
    const audio = (part.input_audio ?? {}) as { data?: string; format?: string };
    const mediaType = AUDIO_MEDIA_TYPE[audio.format ?? ''];
    if (!mediaType || !audio.data)
      throw GatewayError.badRequest(`Audio must be base64 data with format wav or mp3.`, `${param}.input_audio`, 'invalid_value');
    return { kind: 'inline', mediaType, data: audio.data };
  },
  file: (part, param) => readFile((part.file ?? {}) as { file_data?: string; file_id?: string; filename?: string }, `${param}.file`),
};

/** Reads one content part; unsupported kinds and malformed data are a 400 naming the part. */
export function readPart(part: Part, param: string): MediaPart {
  const reader = PART_READERS[part.type];
  if (!reader)
    throw GatewayError.badRequest(`Content part type '${part.type}' is not supported by this model.`, `${param}.type`, 'invalid_value');
  return reader(part, param);
}

/** The media a vendor can read, for a 400 that names them when a part is something else. */
export interface MediaRules {
  vendor: string;
  accepted: ReadonlySet<string>;
}

/** A message's content as parts, whether the client sent a string or an array. */
export function partsOf(message: ChatCompletionMessageParam, param: string, rules?: MediaRules): MediaPart[] {
  const content = message.content;
  if (content == null || content === '') return refusalOf(message);
  if (typeof content === 'string') return [{ kind: 'text', text: content }];
  return (content as unknown as Part[]).map((raw, i) => {
    const at = `${param}.content[${i}]`;
    const part = readPart(raw, at);
    if (rules) checkMediaType(part, rules, at);
    return part;
  });
}

/**
 * An assistant message as the OpenAI SDK returns a refusal (`content: null, refusal: '…'`),
 * echoed back in history: the refusal is what the assistant said, so its turn stays.
 */
function refusalOf(message: ChatCompletionMessageParam): MediaPart[] {
  const refusal = message.role === 'assistant' ? message.refusal : undefined;
  return refusal ? [{ kind: 'text', text: refusal }] : [];
}

/**
 * The text parts of a message that may only hold text (system, developer, tool), one
 * string a part: joined, "Answer in French" and "Never use emoji" would run together.
 * Other parts are a 400.
 */
export function textsOf(message: ChatCompletionMessageParam, param: string): string[] {
  return partsOf(message, param).map((part) => {
    if (part.kind !== 'text')
      throw GatewayError.badRequest(`A ${message.role} message may only contain text.`, `${param}.content`, 'invalid_value');
    return part.text;
  });
}

/** How parts are joined where a vendor takes one string (the Messages API joins system blocks the same way). */
export const PART_SEPARATOR = '\n\n';

/**
 * Splits a `data:<type>;base64,<data>` URL without copying the payload twice. Remote
 * URLs must be https: the vendors fetch them themselves, the gateway never does.
 */
function readUrl(url: string, param: string): MediaPart {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    const header = comma > 0 ? url.slice(5, comma) : '';
    if (!header.endsWith(';base64')) {
      throw GatewayError.badRequest('A data URL must be base64-encoded (data:<media type>;base64,<data>).', param, 'invalid_value');
    }
    const mediaType = header.slice(0, header.indexOf(';')).toLowerCase();
    return { kind: 'inline', mediaType: MEDIA_TYPE_ALIASES[mediaType] ?? mediaType, data: url.slice(comma + 1) };
  }
  if (url.startsWith('https://')) return { kind: 'url', url, mediaType: mediaTypeOfPath(url) };
  throw GatewayError.badRequest('Image URLs must be https:// or data: URLs.', param, 'invalid_value');
}

function readFile(file: { file_data?: string; file_id?: string; filename?: string }, param: string): MediaPart {
  if (file.file_data?.startsWith('data:')) return readUrl(file.file_data, `${param}.file_data`);
  const mediaType = file.filename ? mediaTypeOfPath(file.filename) : undefined;
  if (file.file_data && mediaType) return { kind: 'inline', mediaType, data: file.file_data };
  const why = file.file_id
    ? 'OpenAI file ids mean nothing to this provider; send the file inline as file_data.'
    : 'A file needs file_data as a data URL, or base64 with a filename that names its type.';
  throw GatewayError.badRequest(why, param, 'invalid_value');
}

function mediaTypeOfPath(path: string): string | undefined {
  const name = path.split(/[?#]/, 1)[0];
  return MEDIA_TYPE_BY_EXTENSION[name.slice(name.lastIndexOf('.') + 1).toLowerCase()];
}

/** Refuses a media type the vendor cannot read, naming the ones it can. */
function checkMediaType(part: MediaPart, rules: MediaRules, param: string): void {
  if (part.kind === 'text' || (part.kind === 'url' && !part.mediaType)) return;
  if (!rules.accepted.has(part.mediaType!)) {
    const accepted = [...rules.accepted].join(', ');
    throw GatewayError.badRequest(
      `${rules.vendor} does not accept ${part.mediaType} content (accepted: ${accepted}).`,
      param,
      'invalid_value',
    );
  }
}
