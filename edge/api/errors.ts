/**
 * Every error the edge API answers, created once with a stable code, status and message
 * (SPEC §8: `{"error": "<code>", "message": "..."}`). Handlers throw `apiError(code)` or
 * return a refusal; the one error handler in app.ts turns anything else into these.
 */

import { ApiError, errorFactory } from '../../protocol/api-error.ts';

export { ApiError };

export const API_ERRORS = {
  // Request shape
  bad_request: { status: 400, message: 'the request is not valid' },
  unsupported_media_type: { status: 415, message: 'send the body as application/json' },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  not_found: { status: 404, message: 'no such route' },
  rate_limited: { status: 429, message: 'too many requests; wait a moment and try again' },
  too_soon: { status: 429, message: 'wait a few seconds before using the lockers again' },
  forbidden_host: { status: 403, message: 'this station answers only under its own host names' },
  // Credentials (SPEC §4, §8)
  invalid_credential: { status: 401, message: 'the code is not a valid rider credential' },
  expired_credential: { status: 401, message: 'the credential has expired; get a new code' },
  revoked: { status: 403, message: 'this rider credential has been revoked' },
  stale_code: { status: 401, message: 'this code is out of date; show the code on your phone again' },
  // Quota (SPEC §3, §8)
  not_checked_in: { status: 403, message: 'check in first: no entitlement window covers today' },
  already_claimed_today: { status: 409, message: "today's bottle has already been taken" },
  out_of_stock: { status: 503, message: 'that compartment is out of stock' },
  dispenser_unavailable: { status: 503, message: 'no dispenser can serve this now' },
  dispense_failed: { status: 502, message: 'the dispenser did not drop a bottle; the quota was given back' },
  dispense_unknown: { status: 504, message: 'the dispenser did not answer in time; the claim awaits its report or maintenance' },
  // Lockers (SPEC §6a, §8)
  locker_already_held: { status: 409, message: 'this rider already holds a compartment' },
  no_free_compartment: { status: 503, message: 'no compartment is free' },
  locker_unavailable: { status: 503, message: 'the lockers cannot be operated now' },
  no_locker_held: { status: 404, message: 'this rider holds no compartment' },
  // Maintenance
  unauthorized: { status: 401, message: 'a maintenance bearer token is required' },
  forbidden: { status: 403, message: 'not allowed from this address' },
  unknown_compartment: { status: 404, message: 'no such compartment' },
  unknown_device: { status: 404, message: 'no such device' },
  unknown_claim: { status: 404, message: 'no such claim' },
  claim_not_unknown: { status: 409, message: 'only unknown claims can be resolved by maintenance' },
  unknown_sponsor: { status: 400, message: "the sponsor is not in the station's sponsors list" },
  stock_unknown: { status: 409, message: 'the dispenser has not reported its stock yet' },
  cannot_lower_stock: { status: 409, message: "a dispenser's count can only be raised from the station" },
  // Station
  ledger_unavailable: { status: 503, message: 'the station cannot record anything now' },
  event_too_large: { status: 422, message: 'this would write an event larger than the cloud takes (16 KiB); nothing was changed — shorten what was sent' },
  shutting_down: { status: 503, message: 'the station is shutting down' },
  internal: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export const apiError = errorFactory(API_ERRORS);

export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(API_ERRORS, code);
}
