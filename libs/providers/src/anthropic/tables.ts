/** The Anthropic adapter's declarative tables, exported for the Messages API ingress codec. */
export { BY_STATUS as ERROR_TYPE_BY_STATUS } from './errors';
export { DEFAULT_MAX_TOKENS, EFFORT, TOOL_CHOICE, toolUseId } from './request';
export { FINISH_REASONS } from './response';
export { THINKING_BUDGET } from '../translation/params';
