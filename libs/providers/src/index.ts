export * from './answer-chars';
export * from './answered-model';
export { type ContextOverflow, inAnthropicWords, inOpenAiWords } from './context-overflow';
export * from './embedding-inputs';
export * from './error-label';
export * from './gateway-error';
export { accountHint } from './status-mapping';
export * from './gateway-hops';
export * from './map-stream';
export { answerJsonFits, jsonShapeError, jsonShapeProblem, limitJsonDepth, MAX_JSON_KEYS, requestJson } from './json-shape';
export { type OutputCap, inAnthropicOutputWords, inOpenAiOutputWords } from './output-cap';
export { parseEvent } from './parse-event';
export * from './provider';
export * from './providers.module';
export * from './providers.service';
export * from './sse-events';
export * from './tool-call-slots';
export { clientUsage, completionId, wholeUsage } from './translation/completion';
export { withCacheHits } from './openai/usage-bytes';
export { checkParams, maxTokensOf, refusal, refuse, type ParamRule, type ParamTable, wantsReasoning } from './translation/params';
export { invalidJson, parseChunkEvent } from './translation/errors';
export { withTextContent } from './translation/chunk-shape';
export { toolResult } from './translation/tool-results';
export { fittedToolName, refuseAbsentAllowedTools, refuseDuplicateToolNames, refuseToolChoiceWithoutTools } from './translation/tools';
export type * from './wire';
/** The Anthropic tables, for the Messages API ingress codec, which reads them in reverse. */
export * as anthropicTables from './anthropic/tables';
/** A Gemini tool call's thought signature, for the ingress codecs whose clients send back no field of a call. */
export * as geminiSignatures from './gemini/signatures';
