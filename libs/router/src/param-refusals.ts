import { refusal } from '@gateway/providers';
import type { Deployment, ModelGroup } from './model-catalog';
import type { RequestProfile } from './request-profile';

type Param = keyof NonNullable<RequestProfile['request']>;

/** Each group's contested parameters (see contestedParams), found on its first request. */
const contested = new WeakMap<ModelGroup, ReadonlySet<string>>();

/**
 * The deployments of the group whose adapter would refuse the request for one of its parameters (Provider.params:
 * Anthropic's `n` > 1 and logprobs, Gemini's logprobs…), where another deployment's adapter treats that parameter
 * otherwise; undefined when none would. Only the request's own fields are read, against the parameters the group's
 * adapters do not treat alike: a request that sets none of them costs a set look-up a field, a group on one vendor
 * nothing (its adapter refuses the request as it always did, so the client gets that 400).
 */
export function refusingDeployments(group: ModelGroup, profile: RequestProfile): ReadonlySet<Deployment> | undefined {
  const request = profile.request;
  const params = contestedParams(group);
  if (!request || !params.size) return undefined;
  let refusing: Set<Deployment> | undefined;
  // The request's fields, not the parameters: a client sets a few, the adapters' tables rule on a dozen.
  for (const param in request) {
    if (!params.has(param)) continue;
    const value = request[param as Param];
    for (const d of group.deployments) {
      // A request in the deployment's own protocol goes upstream as the client wrote it: its adapter checks nothing.
      if (d.provider.params && d.provider.type !== profile.protocol && refusal(d.provider.params, param as Param, value))
        (refusing ??= new Set()).add(d);
    }
  }
  return refusing;
}

/**
 * The parameters on which the group's adapters differ: some table has a rule that may refuse a value (a function),
 * and another deployment's adapter treats the parameter otherwise (maps it, drops it, has no table or another rule).
 * Only on these can one deployment refuse what another serves.
 */
function contestedParams(group: ModelGroup): ReadonlySet<string> {
  let params = contested.get(group);
  if (!params) {
    const tables = group.deployments.map((d) => d.provider.params);
    const ruled = new Set(tables.flatMap((t) => (t ? (Object.keys(t) as Param[]).filter((p) => typeof t[p] === 'function') : [])));
    params = new Set([...ruled].filter((p) => new Set(tables.map((t) => t?.[p])).size > 1));
    contested.set(group, params);
  }
  return params;
}
