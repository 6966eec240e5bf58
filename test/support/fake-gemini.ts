import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeUpstream, openSse, PATCH, pieces, sendJson, sleep } from './fake-upstream';

type Part = Record<string, unknown>;
type Content = { role: string; parts: Part[] };

export const GEMINI_USAGE = { promptTokenCount: 12, candidatesTokenCount: 8, totalTokenCount: 20, cachedContentTokenCount: 4 };

/** Usage with Gemini's modality breakdowns: 8,000 of the 10,000 prompt tokens and 40 of the 100 answer tokens audio. */
export const GEMINI_AUDIO_USAGE = {
  promptTokenCount: 10_000,
  candidatesTokenCount: 100,
  totalTokenCount: 10_100,
  promptTokensDetails: [
    { modality: 'TEXT', tokenCount: 2000 },
    { modality: 'AUDIO', tokenCount: 8000 },
  ],
  candidatesTokensDetails: [
    { modality: 'TEXT', tokenCount: 60 },
    { modality: 'AUDIO', tokenCount: 40 },
  ],
};

/** Google's canonical error statuses and their HTTP codes, as the Gemini API sends them. */
export const GEMINI_ERRORS: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** Keywords of JSON Schema that the Gemini Schema type does not have: the API rejects them. */
const FOREIGN_SCHEMA_KEYS = ['additionalProperties', '$ref', '$defs', 'definitions', 'const', 'oneOf', 'allOf', '$schema', 'examples'];

/**
 * A fake Gemini API (v1beta generateContent, streamGenerateContent?alt=sse,
 * batchEmbedContents, models) on 127.0.0.1. It checks what the real API checks
 * (the x-goog-api-key, roles, one function response per call with its name, the
 * thought signature Gemini 3 requires on replayed calls, schema keywords the Schema
 * type lacks and its OBJECT without properties, what its JSON Schema fields refuse, a schema in both fields; a wrong key gets Gemini's 400 with reason API_KEY_INVALID) and answers by model id, streaming any answer as SSE chunks:
 *
 * - `gemini-echo` (and unknown ids): text echoing the last user text; after function
 *   responses, text quoting them; `candidateCount` candidates;
 * - `gemini-tool`: one functionCall (the allowed one, else the first tool), without
 *   id, with a thought signature;
 * - `gemini-tool-blip`: `gemini-tool`'s call; after function responses, 503 UNAVAILABLE (a blip mid tool loop);
 * - `gemini-patch`: a signed functionCall of `apply_patch` with `{ input: PATCH }` (a custom tool's function);
 * - `gemini-parallel`: text and two functionCalls, the first one signed (as Gemini signs parallel calls);
 * - `gemini-signed`: the same answer, but a model that needs its reasoning back: a request whose
 *   replayed calls do not carry the signatures it gave them (the first call its signature, the
 *   other none; the placeholder for foreign history is no signature of its) is a 400;
 * - `gemini-think`: a thought part, then text;
 * - `gemini-json`: a JSON object as text;
 * - `gemini-image`: text, then a picture (an `inlineData` image/png part), as Gemini's image models answer;
 * - `gemini-record`: RECORD as text; with tools declared, a signed call of the first with RECORD's scores as `scores`;
 * - `gemini-finish-<REASON>`: text ending with that finishReason;
 * - `gemini-empty`: a candidate with no parts and no finishReason;
 * - `gemini-empty-stop`: a candidate with no parts that finished with STOP;
 * - `gemini-blocked`: no candidates, promptFeedback.blockReason SAFETY;
 * - `gemini-lead-empty`, `gemini-lead-usage`: streamed, the echo after a first chunk without candidates
 *   (`candidates: []`; usage and model version alone, as Gemini sends with grounding and thinking);
 *   `gemini-lead-blocked`: `gemini-blocked`'s chunk after such a usage chunk;
 * - `gemini-usage-only`: usage and model version, never a candidate;
 * - `gemini-multiline`: streamed, each event's JSON spread over several `data:` lines (SSE joins them with LF);
 * - `gemini-error-<STATUS>`: that error (RESOURCE_EXHAUSTED carries RetryInfo 17s);
 * - `gemini-prepay-spent`: Gemini's 402 `RESOURCE_EXHAUSTED` for a project out of prepaid credit;
 * - `gemini-no-billing`: Gemini's 400 `FAILED_PRECONDITION` for a free tier not served where billing is off;
 *   `gemini-listed-error-<STATUS>` (and `gemini-listed-streamed-error-<STATUS>`, a deployment of its own): the same error
 *   object as the one item of a JSON array, as Google's endpoints also answer;
 * - `gemini-too-long`: Gemini's 400 for a prompt over the context window;
 * - `gemini-cap-<n>`: echoes, but a `maxOutputTokens` above n is Gemini's 400 for it ("… the supported range is …");
 * - `gemini-echo-key-<STATUS>` (or `…<STATUS>.<anything>`, another upstream model alike): that error, its message repeating the key it was sent (as some proxies do);
 * - `gemini-midstream-error`: an error object inside the stream after some text;
 * - `gemini-text-object`: streamed, the echo's second piece a part whose `text` is an object;
 * - `gemini-cut`: a stream that dies before any finishReason;
 * - `gemini-slow-<ms>`: waits, then echoes;
 * - `gemini-drip-<ms>`: streams the echo with that pause between text pieces;
 * - `gemini-no-usage`: the echo without any usageMetadata;
 * - `gemini-audio`: the echo, with usage whose prompt and answer are partly audio (GEMINI_AUDIO_USAGE);
 * - `gemini-not-json`: a 200 whose body (or stream event) is not JSON, as a misbehaving proxy sends;
 * - `gemini-neverclose`: streamed, the echo, its response never ended after the last chunk (as a proxy may hold it);
 * - `gemini-late-usage-neverclose`: the same, the usage not on the finishing chunk but in a chunk of its own after it;
 * - `gemini-burst-<n>`: streamed, n events (`burstPart`: thoughts, every 100th a text) and the finish written at once, as a
 *   buffering proxy lets them go; the thoughts make no frames for a client that did not ask for them.
 *
 * Any model, a part whose `fileData.fileUri` names a file `files/missing…`: Gemini's 403 PERMISSION_DENIED for a file
 * the project cannot read ("You do not have permission to access the File … or it may not exist.").
 *
 * batchEmbedContents answers with the embeddings only: the documented response has no usage. A batch holding an input
 * `embed-error-<STATUS>` answers that error instead (the others of its request are answered); one holding an input
 * `embed-blip-<STATUS>…` answers that error the first time it is sent (per input text), and is answered after.
 */
export class FakeGemini extends FakeUpstream {
  /** The `embed-blip-` inputs refused once already. */
  private readonly blipped = new Set<string>();

  constructor(private readonly apiKey: string) {
    super();
  }

  /** The thought signatures on the calls of each model turn the last request replayed (null: none). */
  replayedSignatures(): (string | null)[][] {
    return (this.last().body.contents as Content[])
      .filter((c) => c.role === 'model')
      .map((c) => c.parts.filter((p) => p.functionCall).map((p) => (p.thoughtSignature as string | undefined) ?? null));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): Promise<void> {
    if (req.headers['x-goog-api-key'] !== this.apiKey) return keyRejected(res);
    const url = new URL(req.url!, 'http://fake');
    if (req.method === 'GET' && url.pathname === '/v1beta/models') {
      return sendJson(res, 200, {
        models: [{ name: 'models/gemini-echo', displayName: 'Echo', supportedGenerationMethods: ['generateContent'] }],
      });
    }
    const match = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent|batchEmbedContents)$/.exec(url.pathname);
    if (!match) return error(res, 'NOT_FOUND', `Not found: ${url.pathname}`);
    const [, model, method] = match;
    if (method === 'batchEmbedContents') return embed(res, model, body, this.blipped);

    const missing = missingFile(body);
    if (missing) return error(res, 'PERMISSION_DENIED', `You do not have permission to access the File ${missing} or it may not exist.`);
    if (model.startsWith('gemini-slow-')) await sleep(Number(model.slice(12)));
    if (model.startsWith('gemini-error-')) return error(res, model.slice(13), `fake ${model.slice(13)}`);
    if (model === 'gemini-prepay-spent') {
      const message =
        'Your prepayment credits are depleted. Please go to AI Studio at https://ai.studio/projects to manage your project and billing.';
      return sendJson(res, 402, { error: { code: 402, message, status: 'RESOURCE_EXHAUSTED' } });
    }
    if (model === 'gemini-no-billing') {
      const message = 'Gemini API free tier is not available in your country. Please enable billing on your project in Google AI Studio.';
      return sendJson(res, 400, { error: { code: 400, message, status: 'FAILED_PRECONDITION' } });
    }
    const listed = /^gemini-listed-(?:streamed-)?error-(.+)$/.exec(model)?.[1];
    if (listed) return error(res, listed, `fake ${listed}`, true);
    if (model.startsWith('gemini-echo-key-')) return error(res, model.slice(16).split('.')[0], `key ${this.apiKey} refused`);
    if (model === 'gemini-not-json') return notJson(res, method);
    if (model.startsWith('gemini-burst-')) return burst(res, Number(model.slice(13)));
    if (model === 'gemini-too-long')
      return error(res, 'INVALID_ARGUMENT', 'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).');
    const cap = /^gemini-cap-(\d+)$/.exec(model)?.[1];
    const asked = (body.generationConfig as { maxOutputTokens?: number } | undefined)?.maxOutputTokens;
    if (cap && asked !== undefined && asked > Number(cap))
      return error(
        res,
        'INVALID_ARGUMENT',
        `Unable to submit request because it has a maxOutputTokens value of ${asked} but the supported range is from 1 (inclusive) to ${Number(cap) + 1} (exclusive). Update the value and try again.`,
      );
    const invalid = validate(body) ?? (model === 'gemini-signed' ? signatureProblem(body) : undefined);
    if (invalid) return error(res, 'INVALID_ARGUMENT', invalid);
    if (model === 'gemini-tool-blip' && functionResponses(body).length) return error(res, 'UNAVAILABLE', 'The model is overloaded.');
    const answer = reply(model, body);
    if (method === 'streamGenerateContent') {
      if (url.searchParams.get('alt') !== 'sse') return error(res, 'INVALID_ARGUMENT', 'fake only streams SSE');
      return stream(res, model, answer);
    }
    sendJson(res, 200, answer);
  }
}

/**
 * The name of a Files API file a part's `fileData.fileUri` names that the fake does not hold (`files/missing…`; it
 * holds any other), which Gemini answers with its 403 PERMISSION_DENIED "You do not have permission to access the
 * File <name> or it may not exist." (python-genai#1218).
 */
function missingFile(body: Record<string, unknown>): string | undefined {
  const uris = ((body.contents ?? []) as Content[]).flatMap((c) =>
    c.parts.map((p) => (p.fileData as { fileUri?: string } | undefined)?.fileUri),
  );
  return uris.map((uri) => /\/files\/(missing[^/?#]*)$/.exec(uri ?? '')?.[1]).find(Boolean);
}

function error(res: ServerResponse, status: string, message: string, listed = false): void {
  const code = GEMINI_ERRORS[status] ?? 500;
  const details = status === 'RESOURCE_EXHAUSTED' ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '17s' }] : [];
  const body = { error: { code, message, status, details } };
  sendJson(res, code, listed ? [body] : body);
}

/** The fake's vector for `text` by `model`, of `width` values (before the gateway scales it to unit length). */
export function fakeEmbedding(model: string, text: string, width: number): number[] {
  const sign = model === 'gemini-embed-other' ? -1 : 1;
  return Array.from({ length: width }, (_, i) => sign * (i % 2 ? -1 : 1) * (i + text.length));
}

/** What the Gemini API answers a bad, revoked or deleted API key: a 400, its reason in an ErrorInfo (not a 401). */
function keyRejected(res: ServerResponse): void {
  const message = 'API key not valid. Please pass a valid API key.';
  const details = [
    {
      '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
      reason: 'API_KEY_INVALID',
      domain: 'googleapis.com',
      metadata: { service: 'generativelanguage.googleapis.com' },
    },
    { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message },
  ];
  sendJson(res, 400, { error: { code: 400, message, status: 'INVALID_ARGUMENT', details } });
}

function notJson(res: ServerResponse, method: string): void {
  if (method === 'streamGenerateContent') {
    openSse(res);
    return void res.end('data: <html>proxy error</html>\r\n\r\n');
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('<html>proxy error</html>');
}

/** The part of event `i` of `gemini-burst-<n>`: a thought, but every 100th a text. */
export function burstPart(i: number): Part {
  return i % 100 ? { text: `thought ${i} `, thought: true } : { text: `w${i} ` };
}

/** Each event in its own chunk of the chunked body, all written at once (as a buffering proxy lets them go). */
function burst(res: ServerResponse, events: number): void {
  openSse(res);
  const send = (candidate: object) =>
    res.write(`data: ${JSON.stringify({ candidates: [candidate], modelVersion: 'gemini-fake-001' })}\r\n\r\n`);
  for (let i = 0; i < events; i++) send({ content: { role: 'model', parts: [burstPart(i)] }, index: 0 });
  send({ content: { role: 'model', parts: [] }, finishReason: 'STOP', index: 0 });
  res.end();
}

function validate(body: Record<string, unknown>): string | undefined {
  const contents = body.contents as Content[];
  if (!Array.isArray(contents) || !contents.length) return '* GenerateContentRequest.contents: contents is not specified';
  for (let i = 0; i < contents.length; i++) {
    const { role, parts } = contents[i];
    if (role !== 'user' && role !== 'model') return `Please use a valid role: user, model. (contents[${i}])`;
    const calls = parts.filter((p) => p.functionCall);
    if (calls.length && !calls[0].thoughtSignature)
      return `Function call is missing a thought_signature in functionCall parts (contents[${i}].parts[0]).`;
    if (!calls.length) continue;
    const responses = (contents[i + 1]?.parts ?? []).filter((p) => p.functionResponse) as { functionResponse: { name?: string } }[];
    if (responses.length !== calls.length || responses.some((r) => !r.functionResponse.name)) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
  }
  const declarations = ((body.tools ?? []) as { functionDeclarations?: Declaration[] }[]).flatMap((t) => t.functionDeclarations ?? []);
  for (const [i, { name, parameters, parametersJsonSchema }] of declarations.entries()) {
    const at = `tools[0].function_declarations[${i}]`;
    // Gemini's rule for function names (google-gemini/gemini-cli#7869), which OpenAI and Anthropic do not have.
    if (!/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/.test(name))
      return `* GenerateContentRequest.${at}.name: Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 64.`;
    if (parameters && parametersJsonSchema)
      return `* GenerateContentRequest.${at}: parameters and parameters_json_schema are mutually exclusive`;
    const problem =
      (parameters && schemaProblem(parameters, `${at}.parameters`)) ||
      (parametersJsonSchema && jsonSchemaProblem(parametersJsonSchema, `${at}.parameters_json_schema`, true));
    if (problem) return problem;
  }
  const config = (body.generationConfig ?? {}) as { responseSchema?: Schema; responseJsonSchema?: Schema; responseMimeType?: string };
  if (config.responseSchema && config.responseJsonSchema)
    return '* GenerateContentRequest.generation_config: response_schema and response_json_schema are mutually exclusive';
  if ((config.responseSchema || config.responseJsonSchema) && config.responseMimeType !== 'application/json')
    return '* GenerateContentRequest.generation_config.response_mime_type: must be application/json with a response schema';
  if (config.responseSchema) return schemaProblem(config.responseSchema, 'generation_config.response_schema');
  if (config.responseJsonSchema) return jsonSchemaProblem(config.responseJsonSchema, 'generation_config.response_json_schema');
  return undefined;
}

type Schema = Record<string, unknown>;
type Declaration = { name: string; parameters?: Schema; parametersJsonSchema?: Schema };

/** The thought signature `gemini-parallel` and `gemini-signed` put on their first call. */
const PARALLEL_SIGNATURE = 'gsig-P';

/** How a model turn's replayed calls differ from what `gemini-signed` answered, if they do. */
function signatureProblem(body: Record<string, unknown>): string | undefined {
  for (const [i, { role, parts }] of (body.contents as Content[]).entries()) {
    const signatures = parts.filter((p) => p.functionCall).map((p) => p.thoughtSignature);
    if (role !== 'model' || !signatures.length) continue;
    const issued = signatures.map((_, j) => (j === 0 ? PARALLEL_SIGNATURE : undefined));
    if (JSON.stringify(signatures) !== JSON.stringify(issued))
      return `Thought signatures of contents[${i}] are not the ones this model gave its calls: ${JSON.stringify(signatures)}.`;
  }
  return undefined;
}

/**
 * What Gemini refuses in its OpenAPI-subset Schema (`responseSchema`, a declaration's `parameters`), at `path`:
 * JSON Schema keywords the Schema type lacks (pydantic/pydantic-ai#1203, python-genai#1815), an OBJECT
 * without properties ("should be non-empty for OBJECT type": js-genai#708, browser-use#3786), `type` beside
 * `anyOf`, an enum value that is not a string, an enum on a type other than STRING or on none ("enum: only allowed
 * for STRING type": directus/directus#27100, decolua/9router#359), an ARRAY without `items` ("items: missing field": kkrishnan90/gemini-desktop#7).
 */
function schemaProblem(schema: Schema, path: string): string | undefined {
  for (const key of FOREIGN_SCHEMA_KEYS)
    if (key in schema) return `Invalid JSON payload received. Unknown name "${key}" at '${path}': Cannot find field.`;
  if (schema.type === 'OBJECT' && !Object.keys(schema.properties ?? {}).length)
    return `* GenerateContentRequest.${path}.properties: should be non-empty for OBJECT type`;
  if (schema.type && schema.anyOf) return 'type and anyOf cannot be both populated';
  // Schema.enum is a list of strings: null or a number there fails to parse.
  const notString = ((schema.enum ?? []) as unknown[]).find((v) => typeof v !== 'string');
  if (notString !== undefined) return `Invalid value at 'enum' (TYPE_STRING), ${JSON.stringify(notString)}`;
  if (schema.type === 'ARRAY' && !schema.items) return `* GenerateContentRequest.${path}.items: missing field.`;
  if (schema.enum && schema.type !== 'STRING') return `* GenerateContentRequest.${path}.enum: only allowed for STRING type`;
  const children: [string, unknown][] = [
    ...Object.entries((schema.properties ?? {}) as object).map(([k, v]): [string, unknown] => [`properties["${k}"]`, v]),
    ['items', schema.items],
    ...((schema.anyOf as object[]) ?? []).map((v, i): [string, unknown] => [`any_of[${i}]`, v]),
  ];
  for (const [step, child] of children) {
    const problem = child && typeof child === 'object' ? schemaProblem(child as Schema, `${path}.${step}`) : undefined;
    if (problem) return problem;
  }
  return undefined;
}

/**
 * What Gemini refuses in its JSON Schema fields (`responseJsonSchema`, `parametersJsonSchema`), as its API
 * reference says (@google/genai's GenerationConfig.responseJsonSchema): a `$ref` with a sibling not starting
 * with `$`, a reference it cannot resolve (the fake resolves `#` and `#/$defs/…`, the forms the reference
 * lists), parameters that are not an object. Other keywords are taken (and, in Gemini, ignored if unsupported).
 */
function jsonSchemaProblem(root: Schema, path: string, parameters = false): string | undefined {
  if (parameters && root.type !== undefined && root.type !== 'object')
    return `* GenerateContentRequest.${path}: the parameters schema must describe an object`;
  const defs = (root.$defs ?? {}) as Record<string, unknown>;
  const problemIn = (node: unknown, at: string): string | undefined => {
    if (!node || typeof node !== 'object') return undefined;
    const schema = node as Schema;
    if (typeof schema.$ref === 'string') {
      const sibling = Object.keys(schema).find((key) => !key.startsWith('$'));
      if (sibling) return `* GenerateContentRequest.${at}: no other property may be set beside $ref, found '${sibling}'`;
      const name = /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1];
      if (schema.$ref !== '#' && !(name && Object.hasOwn(defs, decodeURIComponent(name))))
        return `* GenerateContentRequest.${at}: cannot resolve $ref '${schema.$ref}'`;
    }
    const children: [string, unknown][] = [
      ...Object.entries((schema.properties ?? {}) as object).map(([k, v]): [string, unknown] => [`properties.${k}`, v]),
      ['items', schema.items],
      ['additionalProperties', schema.additionalProperties],
      ...(['anyOf', 'oneOf', 'prefixItems'] as const).flatMap((k) =>
        ((schema[k] as unknown[]) ?? []).map((v, i): [string, unknown] => [`${k}[${i}]`, v]),
      ),
      ...(node === root ? Object.entries(defs).map(([k, v]): [string, unknown] => [`$defs.${k}`, v]) : []),
    ];
    for (const [step, child] of children) {
      const problem = problemIn(child, `${at}.${step}`);
      if (problem) return problem;
    }
    return undefined;
  };
  return problemIn(root, path);
}

/** What `gemini-record` answers: a name and a map of scores, and a tree of one child, for record and recursive schemas. */
export const RECORD = { name: 'Ada', scores: { math: 9.5, art: 7 }, children: [{ name: 'Bo', scores: {}, children: [] }] };

function textOf(content: Content | undefined): string {
  return (content?.parts ?? []).map((p) => (typeof p.text === 'string' ? p.text : '')).join('');
}

type Candidate = ReturnType<typeof candidate>;

function response(candidates: Candidate[], usage: object = GEMINI_USAGE) {
  return { candidates, usageMetadata: usage, modelVersion: 'gemini-fake-001', responseId: 'resp_fake_1' };
}

function candidate(parts: Part[], finishReason: string | null = 'STOP', index = 0) {
  return { content: { role: 'model', parts }, finishReason, index, safetyRatings: [] };
}

function functionResponses(body: Record<string, unknown>) {
  const contents = body.contents as Content[];
  return contents[contents.length - 1].parts.filter((p) => p.functionResponse) as {
    functionResponse: { id?: string; name: string; response: unknown };
  }[];
}

function reply(model: string, body: Record<string, unknown>) {
  const contents = body.contents as Content[];
  const last = contents[contents.length - 1];
  const results = functionResponses(body);
  if (results.length) {
    const said = results
      .map((r) => `${r.functionResponse.name}(${r.functionResponse.id})=${JSON.stringify(r.functionResponse.response)}`)
      .join('; ');
    return response([candidate([{ text: `tool results: ${said}` }])]);
  }
  const config = (body.generationConfig ?? {}) as { candidateCount?: number };
  const toolConfig = body.toolConfig as { functionCallingConfig?: { allowedFunctionNames?: string[] } } | undefined;
  const declared = ((body.tools ?? []) as { functionDeclarations?: { name: string }[] }[]).flatMap((t) => t.functionDeclarations ?? []);
  switch (model) {
    case 'gemini-tool':
    case 'gemini-tool-blip': {
      const name = toolConfig?.functionCallingConfig?.allowedFunctionNames?.[0] ?? declared[0]?.name ?? 'get_weather';
      return response([candidate([{ functionCall: { name, args: { city: 'Paris', unit: 'celsius' } }, thoughtSignature: 'gsig-1' }])]);
    }
    case 'gemini-patch':
      return response([candidate([{ functionCall: { name: 'apply_patch', args: { input: PATCH } }, thoughtSignature: 'gsig-patch' }])]);
    case 'gemini-parallel':
    case 'gemini-signed':
      return response([
        candidate([
          { text: 'Checking both.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: PARALLEL_SIGNATURE },
          { functionCall: { name: 'get_time', args: { zone: 'Europe/Paris' } } },
        ]),
      ]);
    case 'gemini-think':
      return response([candidate([{ text: 'Six times seven is forty-two.', thought: true }, { text: '42' }])], {
        ...GEMINI_USAGE,
        thoughtsTokenCount: 6,
        totalTokenCount: 26,
      });
    case 'gemini-json':
      return response([candidate([{ text: '{"answer":42}' }])]);
    case 'gemini-image':
      return response([candidate([{ text: 'Here is your chart:' }, { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } }])]);
    case 'gemini-record':
      return response([
        candidate([
          declared.length
            ? { functionCall: { name: declared[0].name, args: { scores: RECORD.scores } }, thoughtSignature: 'gsig-record' }
            : { text: JSON.stringify(RECORD) },
        ]),
      ]);
    case 'gemini-empty':
      return response([candidate([], null)]);
    case 'gemini-empty-stop':
      return response([candidate([])]);
    case 'gemini-blocked':
    case 'gemini-lead-blocked':
      return {
        promptFeedback: { blockReason: 'SAFETY', blockReasonMessage: 'The prompt was blocked.', safetyRatings: [] },
        usageMetadata: { promptTokenCount: 12, totalTokenCount: 12 },
      };
  }
  if (model === 'gemini-usage-only')
    return { usageMetadata: { promptTokenCount: 12, totalTokenCount: 12 }, modelVersion: 'gemini-fake-001' };
  if (model.startsWith('gemini-finish-')) return response([candidate([{ text: 'partial' }], model.slice(14))]);
  if (model === 'gemini-audio') return response([candidate([{ text: `echo: ${textOf(last)}` }])], GEMINI_AUDIO_USAGE);
  if (model === 'gemini-no-usage') return { ...response([candidate([{ text: `echo: ${textOf(last)}` }])]), usageMetadata: undefined };
  const count = config.candidateCount ?? 1;
  return response(
    Array.from({ length: count }, (_, i) => candidate([{ text: `echo${count > 1 ? ` ${i}` : ''}: ${textOf(last)}` }], 'STOP', i)),
  );
}

/** The first chunk of `gemini-lead-*` streams: no candidates. */
const LEADS: Record<string, object> = {
  'gemini-lead-empty': { candidates: [], modelVersion: 'gemini-fake-001' },
  'gemini-lead-usage': { usageMetadata: { promptTokenCount: 12 }, modelVersion: 'gemini-fake-001' },
  'gemini-lead-blocked': { usageMetadata: { promptTokenCount: 12 }, modelVersion: 'gemini-fake-001' },
};

/** Streams the answer as Gemini does: text in small pieces, each call whole, finishReason and usage last. */
async function stream(res: ServerResponse, model: string, answer: ReturnType<typeof reply>): Promise<void> {
  openSse(res);
  const send = (chunk: object) =>
    res.write(
      model === 'gemini-multiline'
        ? `${JSON.stringify(chunk, null, 1)
            .split('\n')
            .map((line) => `data: ${line}\r\n`)
            .join('')}\r\n`
        : `data: ${JSON.stringify(chunk)}\r\n\r\n`,
    );
  const lead = LEADS[model];
  if (lead) send(lead);
  if (!('candidates' in answer)) return void res.end(`data: ${JSON.stringify(answer)}\r\n\r\n`);
  const { candidates, usageMetadata, modelVersion, responseId } = answer;
  for (const { content, index } of candidates) {
    for (const part of content.parts) {
      const texts = typeof part.text === 'string' ? pieces(part.text, 5) : [undefined];
      for (const [i, text] of texts.entries()) {
        if (model === 'gemini-midstream-error' && i === 1)
          return void res.end(
            `data: ${JSON.stringify({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } })}\r\n\r\n`,
          );
        if (model === 'gemini-cut' && i === 1) {
          await sleep(30);
          return void res.destroy();
        }
        if (model.startsWith('gemini-drip-')) await sleep(Number(model.slice(12)));
        if (res.destroyed) return;
        const piece = model === 'gemini-text-object' && i === 1 ? { text: { x: 1 } } : text === undefined ? part : { ...part, text };
        send({
          candidates: [{ content: { role: 'model', parts: [piece] }, index }],
          modelVersion,
          responseId,
          ...(usageMetadata && { usageMetadata: { promptTokenCount: 12 } }),
        });
      }
    }
  }
  const lateUsage = model.startsWith('gemini-late-usage');
  send({
    candidates: candidates.map(({ finishReason, index }) => ({ content: { role: 'model', parts: [] }, finishReason, index })),
    ...(!lateUsage && { usageMetadata }),
    modelVersion,
    responseId,
  });
  if (lateUsage) send({ usageMetadata, modelVersion, responseId });
  if (!model.endsWith('-neverclose')) res.end();
}

/**
 * Deterministic, deliberately not unit-length vectors, so the gateway's normalising shows (input
 * texts of different lengths get different vectors: fakeEmbedding). More than 100 requests is Google's 400.
 * `gemini-embed-short` answers one embedding fewer, `gemini-embed-no-values` embeddings without
 * values, `gemini-embed-wide` 8 dimensions whatever was asked, `gemini-embed-other` another model's vectors.
 */
function embed(res: ServerResponse, model: string, body: Record<string, unknown>, blipped: Set<string>): void {
  const requests = body.requests as { content: Content; outputDimensionality?: number }[];
  if (requests.length > 100)
    return error(res, 'INVALID_ARGUMENT', '* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n');
  const texts = requests.map((r) => textOf(r.content));
  const failing = texts.find((text) => text.startsWith('embed-error-'));
  if (failing) return error(res, failing.slice('embed-error-'.length), `The fake refuses this batch (${failing}).`);
  const blip = texts.find((text) => text.startsWith('embed-blip-') && !blipped.has(text));
  if (blip) {
    blipped.add(blip);
    return error(res, blip.slice('embed-blip-'.length).split('-')[0], `The fake refuses this batch once (${blip}).`);
  }
  const embeddings = requests.map((r, at) => ({
    values: fakeEmbedding(model, texts[at], model === 'gemini-embed-wide' ? 8 : (r.outputDimensionality ?? 8)),
  }));
  if (model === 'gemini-embed-short') embeddings.pop();
  sendJson(res, 200, { embeddings: model === 'gemini-embed-no-values' ? embeddings.map(() => ({})) : embeddings });
}
