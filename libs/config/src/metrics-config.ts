import 'reflect-metadata';
import { IsIn, IsOptional } from 'class-validator';

/**
 * Which keys get a `key` label value of their own on the per-key series (`gateway_cost_usd_total`,
 * `gateway_web_searches_total`):
 * - `configured`: the keys the config names (`security.keys` ids, `master`, `anonymous`); every key
 *   made through the admin API is counted under `key="(other)"`, so the series grow with the config,
 *   not with the keys an operator creates;
 * - `all`: every key its own (series: keys × models), for deployments with few API-made keys;
 * - `none`: no key label (one series per provider and model).
 * Per-key spend of every key, exact, is the admin API's usage report in any case.
 */
export const KEY_LABELS = ['configured', 'all', 'none'] as const;
export type KeyLabel = (typeof KEY_LABELS)[number];

/**
 * The `key` value keys without one of their own are counted under (keyLabel `configured`): not a
 * valid key id (security.keys ids are `[A-Za-z0-9._-]`), so no configured key's series can mix with it.
 */
export const OTHER_KEYS_LABEL = '(other)';

export class MetricsConfig {
  @IsOptional() @IsIn(KEY_LABELS as unknown as string[]) keyLabel: KeyLabel = 'configured';
}
