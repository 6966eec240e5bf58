/** An error's message and `param`, as one ingress protocol names its parameters. */
export interface NamedError {
  message: string;
  param: string | null;
}

/**
 * Renames the chat parameters the pipeline and the upstreams name in errors as a protocol's own request names them,
 * by `table` (pattern, name), in `param` and wherever the message quotes it (`Invalid 'messages[1].content': …`),
 * so that an error never points at a field the caller did not send. Unmatched names are kept.
 */
export function paramNames(table: readonly [RegExp, string][]): (message: string, param: string | null) => NamedError {
  return (message, param) => {
    const named = param && table.find(([pattern]) => pattern.test(param))?.[1];
    if (!param || !named || named === param) return { message, param };
    return { message: message.replaceAll(`'${param}'`, `'${named}'`), param: named };
  };
}
