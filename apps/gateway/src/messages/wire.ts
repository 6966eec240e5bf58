import { randomBytes } from 'node:crypto';
import { anthropicTables } from '@gateway/providers';

/** A content block as clients send it; the JSON schema has checked `type`, the codec reads the rest. */
export type AnthropicBlock = { type: string } & Record<string, unknown>;

export type ThinkingParam = { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' } | { type: 'disabled' };

export type ToolChoiceParam =
  | { type: 'auto' | 'any'; disable_parallel_tool_use?: boolean }
  | { type: 'tool'; name: string; disable_parallel_tool_use?: boolean }
  | { type: 'none' };

/**
 * A Messages API request (also the body of count_tokens, without max_tokens). Typed
 * here rather than with the SDK's params: clients of many API versions call this
 * route, and older ones still send temperature, top_p and top_k.
 */
export interface MessagesRequest {
  model: string;
  messages: { role: 'user' | 'assistant' | 'system'; content: string | AnthropicBlock[] }[];
  max_tokens?: number;
  system?: string | { type: 'text'; text: string }[];
  stream?: boolean;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  /** `name` and `input_schema` are required of client tools (the schema checks); Anthropic's own tools have a dated `type`, and its toolsets no name. */
  tools?: {
    type?: string;
    name?: string;
    description?: string;
    input_schema?: Record<string, unknown>;
    strict?: boolean;
    /** Anthropic's server tools: how many times the model may use it in the request (Anthropic checks it). */
    max_uses?: unknown;
  }[];
  tool_choice?: ToolChoiceParam;
  thinking?: ThinkingParam;
  metadata?: { user_id?: string | null };
  output_config?: { effort?: string | null; format?: OutputFormatParam | null };
  /** Anthropic's earlier name for `output_config.format` (deprecated, still taken). */
  output_format?: OutputFormatParam | null;
  cache_control?: unknown;
  service_tier?: string;
  inference_geo?: string;
  speed?: string;
  container?: unknown;
  mcp_servers?: unknown;
  context_management?: unknown;
  diagnostics?: unknown;
  compaction?: unknown;
  fallbacks?: unknown;
  fallback_credit_token?: unknown;
  billing_policy?: unknown;
  user_profile_id?: unknown;
  workspace_id?: unknown;
  /** Message threads (threads/threads.ts), taken off the request before it is translated; `null` stays. */
  thread?: unknown;
}

/** A structured-output format (`output_config.format`, `output_format`). */
export interface OutputFormatParam {
  type: 'json_schema';
  schema: Record<string, unknown>;
}

/** The reverse of a many-to-one vendor table: each value's first key, so declaration order picks. */
function inverse<K extends string, V extends string>(table: Record<K, V>): Record<V, K> {
  const out = {} as Record<V, K>;
  for (const [key, value] of Object.entries(table) as [K, V][]) out[value] ??= key;
  return out;
}

/** Anthropic tool_choice type -> OpenAI tool_choice mode (the adapter's table, reversed). */
export const TOOL_MODES = inverse(anthropicTables.TOOL_CHOICE) as Record<'auto' | 'any' | 'none', 'auto' | 'required' | 'none'>;

/**
 * OpenAI finish_reason -> Anthropic stop_reason: the adapter's table reversed (stop is
 * end_turn, its first entry), plus the deprecated function_call.
 */
export const STOP_REASONS: Record<string, string> = { ...inverse(anthropicTables.FINISH_REASONS), function_call: 'tool_use' };

/** A fresh Messages API id. */
export function newMessageId(): string {
  return `msg_${randomBytes(12).toString('base64url')}`;
}

/** The tool_use id of an upstream tool call: its own id (in Anthropic's alphabet), or a fresh one when it sent none. */
export function toolUseIdOf(id: string | undefined): string {
  return id ? anthropicTables.toolUseId(id) : `toolu_${randomBytes(12).toString('base64url')}`;
}
