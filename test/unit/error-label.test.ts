import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorLabel, GatewayError } from '@gateway/providers';

describe('errorLabel', () => {
  it('keeps the gateway`s own codes, and the type of an error without one', () => {
    assert.equal(errorLabel(new GatewayError(502, 'x', 'upstream_error', 'upstream_overloaded').from(503)), 'upstream_overloaded');
    assert.equal(errorLabel(GatewayError.clientClosed()), 'client_closed_request');
    assert.equal(errorLabel(new GatewayError(400, 'x', 'invalid_request_error').from(400)), 'invalid_request_error');
  });

  it('labels any other code by its class: an upstream`s client error, its failure, or other', () => {
    assert.equal(errorLabel(new GatewayError(422, 'x', 'invalid_request_error', 'extra_forbidden_17').from(422)), 'upstream_bad_request');
    assert.equal(errorLabel(new GatewayError(502, 'x', 'upstream_error', 'engine_dead:req-123').from(502)), 'upstream_error');
    assert.equal(errorLabel(new GatewayError(400, 'x', 'invalid_request_error', 'FST_ERR_SOMETHING')), 'other');
  });
});
