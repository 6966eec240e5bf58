import { BudgetConfig, unmatchedModel } from '@gateway/config';
import { GatewayError } from '@gateway/providers';
import { hasExpired, type KeyRecord } from '../key-record';
import { normalisedExpiry } from './expiry';
import type { KeyFieldsDto } from './key.dto';

/** Fields an admin may set; everything else in a record is the gateway's. */
export const KEY_FIELDS = ['name', 'owner', 'models', 'rpm', 'tpm', 'maxConcurrent', 'budget', 'expiresAt', 'metadata'] as const;
type KeyField = (typeof KEY_FIELDS)[number];

export const METADATA_ENTRIES = 50;
const METADATA_VALUE_CHARS = 500;

/**
 * The fields the request sent: `null` (clear) kept, fields left out dropped. Within `budget`
 * too: a budget sent without its period changes the amount and keeps the key's period, one
 * with `period: null` is `monthly` (the default). An `expiresAt` is the instant it names, in UTC.
 * `raw` is the body AdminBodyShapePipe passed: an object of known fields only.
 */
export function sentFields(body: KeyFieldsDto, raw: unknown): Partial<Record<KeyField, unknown>> {
  const given = raw as Record<string, unknown>;
  const fields: Partial<Record<KeyField, unknown>> = {};
  for (const field of KEY_FIELDS) if (Object.hasOwn(given, field)) fields[field] = given[field] === null ? null : body[field];
  // As sent: class-transformer drops entries named like Object.prototype's members (`toString`).
  if (given.metadata) fields.metadata = { ...(given.metadata as Record<string, string>) };
  // One form in every record, which Date.parse reads to the instant sent wherever the gateway runs.
  if (body.expiresAt) fields.expiresAt = normalisedExpiry(body.expiresAt);
  const budget = given.budget;
  if (body.budget && budget && typeof budget === 'object' && !('period' in budget)) fields.budget = { usd: body.budget.usd };
  // `period: null` clears the period as `null` clears a field: its default, as config reads `period: ~`.
  if (body.budget && (budget as { period?: unknown }).period === null)
    fields.budget = { usd: body.budget.usd, period: new BudgetConfig().period };
  return fields;
}

/** `record` with `change` applied; `null` removes a field. A budget keeps its period unless the change names one. */
export function applyChange(record: KeyRecord, change: Partial<Record<KeyField, unknown>>): KeyRecord {
  const next: Record<string, unknown> = { ...record };
  for (const [field, value] of Object.entries(change)) {
    if (value === null) delete next[field];
    else if (field === 'budget') next.budget = { ...Object.assign(new BudgetConfig(), record.budget, value) };
    else next[field] = value;
  }
  return next as unknown as KeyRecord;
}

/**
 * Characters a key's text may not hold: C0 and C1 controls (NUL, CR, LF, ESC…), the bidirectional overrides,
 * embeddings, isolates and marks (U+202E shows `txt.exe` as `exe.txt` in a list of keys), and a UTF-16
 * surrogate without its pair (no character at all; stored, it came back as U+FFFD from Redis). Refused
 * rather than taken out: an admin tool that sends them has a bug, and stored changed the text is not what
 * it sent. A dashboard listing keys shows what it is given.
 */
const UNSAFE_TEXT =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** 400 naming `param` when `text` holds a character UNSAFE_TEXT refuses, by its code point. */
function checkText(param: string, text: unknown): void {
  const found = typeof text === 'string' ? UNSAFE_TEXT.exec(text) : null;
  if (!found) return;
  const code = `U+${found[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  throw invalid(param, `must not contain control, bidirectional-override or unpaired surrogate characters (found ${code})`);
}

/**
 * What the DTO cannot see: an expiry in the past, metadata that is not a flat
 * map of short strings, text with control or bidi characters, limits that contradict each other. 400 naming the field.
 */
export function checkRecord(
  record: KeyRecord,
  change: Partial<Record<KeyField, unknown>>,
  defaults: LimitDefaults = {},
  now = Date.now(),
): void {
  checkText('name', change.name);
  checkText('owner', change.owner);
  if (change.expiresAt && hasExpired(record, now)) {
    throw invalid('expiresAt', `must be in the future (got ${record.expiresAt}); to stop a key now, revoke it with DELETE`);
  }
  if (change.metadata) {
    const entries = Object.entries(record.metadata!);
    if (entries.length > METADATA_ENTRIES) throw invalid('metadata', `at most ${METADATA_ENTRIES} entries`);
    for (const [name, value] of entries) {
      if (typeof value !== 'string' || value.length > METADATA_VALUE_CHARS || name.length > 100) {
        throw invalid(`metadata.${name.slice(0, 100)}`, `must be a string of at most ${METADATA_VALUE_CHARS} characters`);
      }
      checkText('metadata', name);
      checkText(`metadata.${name}`, value);
    }
  }
  if (change.budget && !(record.budget!.usd > 0)) throw invalid('budget.usd', 'must be greater than 0 (revoke the key to stop it)');
  if ('rpm' in change || 'tpm' in change) checkLimits(record, change, defaults);
}

/** The RPM and TPM a key that sets none is held to: `security.defaultRpm` / `defaultTpm`. */
export interface LimitDefaults {
  rpm?: number;
  tpm?: number;
}

/**
 * Every request uses at least one token, so a TPM below the RPM makes the RPM unreachable: checked on
 * the limits the key is held to, its own else the defaults (a `tpm` of 30 under a defaultRpm of 60 was
 * taken). The 400 names a field sent with a value, `tpm` first (an `rpm` alone is refused as over the
 * tpm in force), else the one cleared, whose default would then apply.
 */
function checkLimits(record: KeyRecord, change: Partial<Record<KeyField, unknown>>, defaults: LimitDefaults): void {
  const rpm = record.rpm ?? defaults.rpm;
  const tpm = record.tpm ?? defaults.tpm;
  if (rpm === undefined || tpm === undefined || tpm >= rpm) return;
  const rpmText = record.rpm === undefined ? `${rpm}, security.defaultRpm` : `${rpm}`;
  const tpmText = record.tpm === undefined ? `${tpm}, security.defaultTpm` : `${tpm}`;
  const why = 'every request uses at least one token';
  if (change.tpm != null) throw invalid('tpm', `must be at least rpm (${rpmText}): ${why}`);
  if (change.rpm != null) throw invalid('rpm', `must be at most tpm (${tpmText}): ${why}`);
  if ('tpm' in change)
    throw invalid('tpm', `cleared, the key would be held to security.defaultTpm (${tpm}), which must be at least rpm (${rpmText}): ${why}`);
  throw invalid('rpm', `cleared, the key would be held to security.defaultRpm (${rpm}), which must be at most tpm (${tpmText}): ${why}`);
}

/**
 * A `models` list names what the gateway serves, as config keys must: each entry a model name,
 * alias or virtual model of `served`, or a prefix (`gpt-*`) that matches one, and each once (an
 * entry listed twice is a mistake, as an empty list is). 400 naming the first entry that fails.
 */
export function checkModels(change: Partial<Record<KeyField, unknown>>, served: readonly string[]): void {
  const models = (change.models as string[] | null | undefined) ?? [];
  const unmatched = unmatchedModel(models, served);
  if (unmatched) throw invalid(`models[${unmatched.index}]`, unmatched.problem);
  const first = new Map<string, number>();
  for (const [index, entry] of models.entries()) {
    if (first.has(entry)) throw invalid(`models[${index}]`, `"${entry}" is listed twice (also models[${first.get(entry)}])`);
    first.set(entry, index);
  }
}

/**
 * Field by field, what changed, for the audit line: values only, never a secret (records hold none). Not
 * `unknownFields`: it names fields that were not read in time for the answer, never a field of the key.
 */
export function diff(before: KeyRecord | undefined, after: KeyRecord): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  const fields = new Set([...Object.keys(before ?? {}), ...Object.keys(after)]);
  fields.delete('unknownFields');
  for (const field of fields) {
    const from = (before as Record<string, unknown> | undefined)?.[field];
    const to = (after as unknown as Record<string, unknown>)[field];
    if (JSON.stringify(from) !== JSON.stringify(to)) changes[field] = { from: from ?? null, to: to ?? null };
  }
  return changes;
}

export function invalid(param: string, problem: string): GatewayError {
  return GatewayError.badRequest(`Invalid value for '${param}': ${problem}.`, param, 'invalid_value');
}
