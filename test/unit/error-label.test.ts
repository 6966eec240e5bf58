import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorLabel, GatewayError } from '@gateway/providers';
import { anthropicMapping } from '../../libs/providers/src/anthropic/error-mapping';
import { statusMapping } from '../../libs/providers/src/status-mapping';
import { vendorError } from '../../libs/providers/src/translation/errors';

describe('errorLabel', () => {
  it('keeps the gateway`s own codes, and the type of its own error without one', () => {
    assert.equal(errorLabel(new GatewayError(502, 'x', 'upstream_error', 'upstream_overloaded').from(503)), 'upstream_overloaded');
    assert.equal(errorLabel(GatewayError.clientClosed()), 'client_closed_request');
    assert.equal(errorLabel(GatewayError.badRequest('x')), 'invalid_request_error');
  });

  // Found by an independent check (obs31, 3): an Anthropic or Gemini 400 (no code) was labelled invalid_request_error,
  // the same 400 from an OpenAI-format upstream upstream_bad_request, so an alert on the README's label missed them.
  it('labels an upstream`s 400 alike whichever vendor answered it', () => {
    const anthropic = vendorError('an', anthropicMapping(400, 'invalid_request_error', undefined, 'bad'), 'bad', undefined, 400);
    const gemini = vendorError('ge', statusMapping(400), 'bad', undefined, 400);
    const openai = vendorError('oa', [400, 'invalid_request_error', 'some_vendor_code', false], 'bad', undefined, 400);
    assert.deepEqual([anthropic, gemini, openai].map(errorLabel), ['upstream_bad_request', 'upstream_bad_request', 'upstream_bad_request']);
  });

  it('labels any other code by its class: an upstream`s client error, its failure, or other', () => {
    assert.equal(errorLabel(new GatewayError(422, 'x', 'invalid_request_error', 'extra_forbidden_17').from(422)), 'upstream_bad_request');
    assert.equal(errorLabel(new GatewayError(502, 'x', 'upstream_error', 'engine_dead:req-123').from(502)), 'upstream_error');
    assert.equal(errorLabel(new GatewayError(400, 'x', 'invalid_request_error', 'FST_ERR_SOMETHING')), 'other');
  });
});
