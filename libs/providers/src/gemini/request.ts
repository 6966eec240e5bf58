import {
  FunctionCallingConfigMode,
  type Content,
  type FunctionDeclaration,
  type GenerateContentConfig,
  type GenerateContentParameters,
  type Part,
  ThinkingLevel,
  Type,
} from '@google/genai';
import type { DeploymentConfig } from '@gateway/config';
import { GatewayError } from '../gateway-error';
import { requestJson } from '../json-shape';
import { SchemaBudget } from '../schema-budget';
import { type MediaPart, type MediaRules, PART_SEPARATOR, partsOf, textsOf } from '../translation/content';
import {
  checkParams,
  COMMON_PARAMS,
  type Effort,
  maxTokensOf,
  outputFormat,
  type ParamTable,
  refuse,
  stopSequences,
  thinkingBudget,
} from '../translation/params';
import {
  type AssistantMessage,
  fittedToolName,
  functionCalls,
  parseArguments,
  planTools,
  type ToolCallParam,
  type ToolMode,
  type ToolPlan,
} from '../translation/tools';
import { TOOL_ERROR_MARK } from '../translation/tool-results';
import { toTurns } from '../translation/turns';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from '../wire';
import { toGeminiSchema } from './schema';
import { thoughtSignatureOf } from './signatures';

const VENDOR = 'Gemini';
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Every OpenAI parameter and what becomes of it (see translation/params.ts). */
export const GEMINI_PARAMS = {
  ...COMMON_PARAMS,
  temperature: 'mapped',
  top_p: 'mapped',
  frequency_penalty: 'mapped',
  presence_penalty: 'mapped',
  // Mapped (toGenerateRequest). Gemini's seed is an int32 where OpenAI's is 64 bits: a larger one is refused here, by name.
  seed: refuse((v) => typeof v === 'number' && (v < INT32_MIN || v > INT32_MAX), `takes a 32-bit seed (${INT32_MIN} to ${INT32_MAX}).`),
  n: 'mapped',
  // The Gemini API has no end-user field (labels are Vertex AI only).
  user: 'dropped',
  safety_identifier: 'dropped',
} satisfies ParamTable;

/**
 * Google's image, document and audio guides list these (audio/mpeg, which chat `input_audio` mp3 becomes, is
 * @google/genai's and Vertex's name for audio/mp3); the audio ones are sent as named, which is how Google lists them.
 */
const MEDIA: MediaRules = {
  vendor: VENDOR,
  accepted: new Set([
    ...['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif', 'application/pdf'],
    ...['audio/wav', 'audio/mp3', 'audio/mpeg', 'audio/aiff', 'audio/aac', 'audio/ogg', 'audio/flac'],
  ]),
};

const TOOL_MODES: Record<ToolMode, FunctionCallingConfigMode> = {
  auto: FunctionCallingConfigMode.AUTO,
  none: FunctionCallingConfigMode.NONE,
  required: FunctionCallingConfigMode.ANY,
};

const THINKING_LEVELS: Record<Effort, ThinkingLevel> = {
  minimal: ThinkingLevel.MINIMAL,
  low: ThinkingLevel.LOW,
  medium: ThinkingLevel.MEDIUM,
  high: ThinkingLevel.HIGH,
  xhigh: ThinkingLevel.XHIGH,
  max: ThinkingLevel.XHIGH,
};

/** The largest thinking budget Gemini Flash models take (Pro takes 32768). */
const MAX_THINKING_BUDGET = 24_576;
/** The smallest thinking budget every Gemini 2.5 model takes (Flash-Lite's; Pro's is 128, Flash's 1). */
const MIN_THINKING_BUDGET = 512;

/**
 * Gemini 3 refuses a function call from history without its thought signature. Calls
 * that never had one (made by another model, or replayed by a client that dropped it)
 * carry the placeholder Google documents for history from elsewhere.
 */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';

/**
 * Translates an OpenAI chat request into generateContent parameters (the adapter adds the abort
 * signal). `kept`: thought signatures the gateway kept for calls sent back without one (kept-signatures.ts).
 */
export function toGenerateRequest(
  request: ChatCompletionCreateParams,
  model: string,
  deployment: DeploymentConfig,
  kept?: KeptSignatures,
): GenerateContentParameters {
  checkParams(request, GEMINI_PARAMS, VENDOR);
  const { system, contents } = toContents(request.messages, kept);
  const config: GenerateContentConfig = {};
  if (system.length) config.systemInstruction = { parts: system };
  if (request.temperature != null) config.temperature = request.temperature;
  if (request.top_p != null) config.topP = request.top_p;
  if (request.frequency_penalty != null) config.frequencyPenalty = request.frequency_penalty;
  if (request.presence_penalty != null) config.presencePenalty = request.presence_penalty;
  if (request.seed != null) config.seed = request.seed;
  if (request.n != null && request.n > 1) config.candidateCount = request.n;
  const maxTokens = maxTokensOf(request) ?? deployment.maxOutputTokens;
  if (maxTokens) config.maxOutputTokens = maxTokens;
  const stop = stopSequences(request);
  if (stop) config.stopSequences = stop;

  // One for all the request's schemas: each is bounded, and so is their total (schema-budget.ts).
  const budget = new SchemaBudget();
  const format = outputFormat(request);
  if (format.kind !== 'text') config.responseMimeType = 'application/json';
  if (format.kind === 'json_schema') {
    // One or the other: Gemini refuses both (schema.ts decides which).
    const { subset, json } = toGeminiSchema(format.schema, 'response_format.json_schema.schema', false, budget);
    if (json) config.responseJsonSchema = json;
    else config.responseSchema = subset;
  }

  const tools = planTools(request);
  if (tools.tools.length) {
    config.tools = [{ functionDeclarations: tools.tools.map((tool, i) => toDeclaration(tool, `tools[${i}].function.parameters`, budget)) }];
    if (tools.mode) {
      config.toolConfig = {
        functionCallingConfig: {
          mode: TOOL_MODES[tools.mode],
          ...(tools.forced ? { allowedFunctionNames: [geminiToolName(tools.forced)] } : {}),
        },
      };
    }
  }

  const effort = request.reasoning_effort;
  if (effort && effort !== 'none') {
    if (deployment.thinking !== 'budget') config.thinkingConfig = { includeThoughts: true, thinkingLevel: THINKING_LEVELS[effort] };
    else {
      // Capped by the output limit, which Gemini 2.5 counts thinking against; with no room, the model's default, as without reasoning_effort.
      const budget = thinkingBudget(effort, maxTokens, MIN_THINKING_BUDGET, MAX_THINKING_BUDGET);
      if (budget) config.thinkingConfig = { includeThoughts: true, thinkingBudget: budget };
    }
  }
  return { model, contents, config };
}

/**
 * System and developer messages become `systemInstruction`; the user side's turns
 * are `user` contents, the assistant's `model` contents (see toTurns).
 */
export function toContents(input: ChatCompletionMessageParam[], kept?: KeptSignatures): { system: Part[]; contents: Content[] } {
  // Gemini names the function in each response; OpenAI tool messages only carry the call id.
  const callNames = new Map<string, string>();
  const { system, turns } = toTurns<Part>(input, VENDOR, {
    user: (message, param) => partsOf(message, param, MEDIA).flatMap(toPart),
    assistant: (message, param) => modelParts(message, param, callNames),
    tool: (message, param) => {
      const name = callNames.get(message.tool_call_id);
      if (!name)
        throw GatewayError.badRequest(
          `No earlier assistant tool call has id '${message.tool_call_id}'.`,
          `${param}.tool_call_id`,
          'invalid_value',
        );
      return [
        {
          functionResponse: {
            id: message.tool_call_id,
            name,
            response: toolResponse(textsOf(message, param).join(PART_SEPARATOR), `${param}.content`),
          },
        },
      ];
    },
  });
  const contents: Content[] = [];
  for (const { side, blocks } of turns) {
    const previous = contents.at(-1)?.parts;
    contents.push(
      side === 'user' ? { role: 'user', parts: inCallOrder(blocks, previous) } : { role: 'model', parts: signedTurn(blocks, kept) },
    );
  }
  return { system: system.map((text) => ({ text })), contents };
}

/**
 * A user turn's function responses in the order of the calls they answer: an OpenAI client may send the results
 * of parallel calls in any order (OpenAI pairs them by id), and Gemini pairs them by position, which swaps the
 * results of two calls of one function. Other parts keep their places.
 */
function inCallOrder(parts: Part[], calls: Part[] | undefined): Part[] {
  const order = new Map(calls?.filter((part) => part.functionCall).map((part, i) => [part.functionCall!.id, i]));
  const slots = parts.flatMap((part, i) => (part.functionResponse ? [i] : []));
  if (slots.length < 2 || !order.size) return parts;
  const rank = (part: Part) => order.get(part.functionResponse!.id) ?? order.size;
  const sorted = slots.map((i) => parts[i]).sort((a, b) => rank(a) - rank(b));
  const result = [...parts];
  slots.forEach((slot, i) => (result[slot] = sorted[i]));
  return result;
}

/** Thought signatures kept by the gateway, by call id (kept-signatures.ts). */
export type KeptSignatures = ReadonlyMap<string, unknown>;

/** A message's parts, its calls with the thought signatures the client sent back (signedTurn adds the rest). */
function modelParts(message: AssistantMessage, param: string, callNames: Map<string, string>): Part[] {
  const parts = partsOf(message, param).flatMap(toPart);
  functionCalls(message, param).forEach((call, j) => {
    callNames.set(call.id, geminiToolName(call.function.name));
    const signature = thoughtSignatureOf(call);
    parts.push({
      functionCall: {
        id: call.id,
        name: geminiToolName(call.function.name),
        args: parseArguments(call.function.arguments, `${param}.tool_calls[${j}].function.arguments`),
      },
      ...(signature ? { thoughtSignature: signature } : {}),
    });
  });
  return parts;
}

/**
 * A model turn (every assistant message in a row) with its calls' thought signatures: those the
 * client sent back, else those the gateway kept for them; a turn with neither gets the placeholder
 * on its first call. Gemini signs the first of parallel calls and wants it first again: a client
 * may send them back in another order, or one a message, so the signed call goes where the first was.
 */
function signedTurn(parts: Part[], kept: KeptSignatures | undefined): Part[] {
  const calls = parts.filter((part) => part.functionCall);
  if (!calls.length) return parts;
  if (!calls.some((call) => call.thoughtSignature)) {
    for (const call of calls) {
      const recalled = kept?.get(call.functionCall!.id!);
      if (typeof recalled === 'string') call.thoughtSignature = recalled;
    }
  }
  const first = calls[0]!;
  const signed = calls.find((call) => call.thoughtSignature);
  if (!signed) first.thoughtSignature = SKIP_SIGNATURE;
  if (!signed || signed === first) return parts;
  const reordered = parts.filter((part) => part !== signed);
  reordered.splice(reordered.indexOf(first), 0, signed);
  return reordered;
}

/**
 * A tool result (at `param`) as Gemini's `response` object: a JSON object is the response itself;
 * anything else (plain text, an array, a number) goes under `output`, as Google documents,
 * and a failed tool's (a text that starts with TOOL_ERROR_MARK) under `error`, as Google documents for
 * errors. JSON past the body's bounds is a 400 (requestJson).
 */
function toolResponse(text: string, param: string): Record<string, unknown> {
  if (text.startsWith(TOOL_ERROR_MARK)) return { error: text.slice(TOOL_ERROR_MARK.length) };
  const value = requestJson(text, param);
  if (value === undefined) return { output: text };
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  return { output: value };
}

function toPart(part: MediaPart): Part[] {
  if (part.kind === 'text') return part.text ? [{ text: part.text }] : [];
  if (part.kind === 'inline') return [{ inlineData: { mimeType: part.mediaType, data: part.data } }];
  return [{ fileData: { fileUri: part.url, ...(part.mediaType ? { mimeType: part.mediaType } : {}) } }];
}

/**
 * A function with no parameters is declared without a schema: Gemini refuses an empty OBJECT.
 * The translated schema tells, not the client's: its properties may sit behind a top-level
 * `$ref` or `allOf`. Gemini takes a call's arguments as one object, so parameters that are a
 * choice of schemas (a top-level `anyOf` / `oneOf`) or not an object are a 400 naming the tool.
 * Parameters the OpenAPI subset cannot express go as `parametersJsonSchema` (schema.ts), never
 * beside `parameters`: Gemini takes one or the other.
 */
function toDeclaration(tool: ToolPlan['tools'][number], param: string, budget: SchemaBudget): FunctionDeclaration {
  const { subset, json } = tool.parameters ? toGeminiSchema(tool.parameters, param, true, budget) : {};
  if (!isOneObject(subset ?? json)) {
    throw GatewayError.badRequest(
      `Gemini cannot declare tool '${tool.name}': its parameters must be one object schema, not a top-level anyOf/oneOf or another type.`,
      param,
      'invalid_value',
    );
  }
  return {
    name: geminiToolName(tool.name),
    ...(tool.description ? { description: tool.description } : {}),
    ...(json ? { parametersJsonSchema: json } : subset?.properties && Object.keys(subset.properties).length ? { parameters: subset } : {}),
  };
}

/** Whether a top-level schema (the subset's or JSON Schema) is one object, or says nothing of its type. */
function isOneObject(schema: { anyOf?: unknown; oneOf?: unknown; type?: unknown } | undefined): boolean {
  if (!schema) return true;
  if (schema.anyOf || schema.oneOf) return false;
  if (schema.type === undefined) return true;
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t) => t !== 'null');
  return types.length === 1 && (types[0] === Type.OBJECT || types[0] === 'object');
}

/**
 * A client's tool name as Gemini takes it: Gemini refuses a function name that does not start with a letter or an
 * underscore ("Invalid function name. Must start with a letter or an underscore"), which OpenAI and Anthropic allow
 * (`3d_render`, `-x`); such a name goes with a `_` before it, fitted to 64 characters as fittedToolName fits. The
 * declaration, a forced choice and the history's calls and results name it alike; the answer's calls go back to
 * the client's name by answerToolNames.
 */
export function geminiToolName(name: string): string {
  return /^[A-Za-z_]/.test(name) ? name : fittedToolName(`_${name}`);
}

/** The client's names of the request's tools Gemini knows by another (geminiToolName), by Gemini's name. */
export function answerToolNames(request: ChatCompletionCreateParams): ReadonlyMap<string, string> {
  const names = (request.tools ?? []).flatMap((tool) => (tool.type === 'function' ? [tool.function.name] : []));
  return new Map(names.filter((name) => geminiToolName(name) !== name).map((name) => [geminiToolName(name), name]));
}
