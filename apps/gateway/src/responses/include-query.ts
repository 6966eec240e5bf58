import { GatewayError } from '@gateway/providers';
import { checkInclude } from './request';
import { INCLUDABLE } from './responses.schema';

/**
 * `include` in the query of a GET on a stored response, as the openai SDK sends it (`include[]=a&include[]=b`), plain,
 * or indexed (`include[0]=a`, as other query encoders write arrays).
 */
export interface IncludeQuery {
  include?: unknown;
  'include[]'?: unknown;
  [indexed: `include[${number}]`]: unknown;
}

const INCLUDE_PARAM = /^include\[\d*\]$|^include$/;

/**
 * Refuses the `include` of a GET on a stored response (retrieve, input_items) that create would refuse: a value OpenAI
 * does not define is a 400 naming it (`include[i]`), as create's schema answers, and log probabilities, which the
 * gateway never has, create's own refusal. The values create takes ask for nothing more here: a stored response is
 * returned whole.
 */
export function checkIncludeQuery(query: IncludeQuery): void {
  const values = Object.entries(query)
    .filter(([name]) => INCLUDE_PARAM.test(name))
    .flatMap(([, value]) => value)
    .filter((value) => value !== undefined);
  values.forEach((value, i) => {
    if (!(INCLUDABLE as readonly unknown[]).includes(value)) {
      const supported = INCLUDABLE.map((v) => `'${v}'`).join(', ');
      throw GatewayError.badRequest(
        `Invalid value: '${String(value)}'. Supported values are: ${supported}.`,
        `include[${i}]`,
        'invalid_value',
      );
    }
  });
  checkInclude(values as (typeof INCLUDABLE)[number][]);
}
