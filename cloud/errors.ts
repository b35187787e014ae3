/**
 * Errors of the cloud API, created once with a stable code, status and message
 * (STYLE.md "errors carry a stable string code"). Routes throw `apiError(...)`; the one error
 * handler in app.ts turns them into `{"error": code, "message": ...}`.
 */

import { ApiError, errorFactory } from '../protocol/api-error.ts';

export { ApiError };

export const API_ERRORS = {
  unauthorized: { status: 401, message: 'a valid bearer token is required' },
  forbidden: { status: 403, message: 'this token may not do that' },
  bad_request: { status: 400, message: 'the request is not valid' },
  bad_week: { status: 400, message: 'week must be an ISO week like 2026-W48' },
  unknown_station: { status: 404, message: 'no such station' },
  station_exists: { status: 409, message: 'a station with this id exists already' },
  station_disabled: { status: 403, message: 'this station is disabled' },
  unknown_rider: { status: 404, message: 'no such rider' },
  not_found: { status: 404, message: 'not found' },
  revoked: { status: 403, message: 'this rider has been revoked' },
  // Enrolment (SPEC §14)
  invalid_credential: { status: 401, message: 'the code is not a valid rider code' },
  expired_credential: { status: 401, message: 'the credential has expired; enrol again' },
  stale_code: { status: 401, message: 'this code is out of date; check the phone clock' },
  invite_invalid: { status: 403, message: 'this invite is not valid (wrong, expired or used up); ask the station staff for a new poster' },
  consent_required: { status: 400, message: 'enrolment needs your consent to the notice' },
  device_key_invalid: { status: 400, message: 'deviceKey must be an Ed25519 public JWK' },
  rate_limited: { status: 429, message: 'too many requests from this address; wait and try again' },
  gap: { status: 409, message: 'the batch would leave a gap; resend from expectedSeq' },
  chain_broken: { status: 422, message: 'the batch breaks the station hash chain and was refused' },
  busy: { status: 503, message: 'the station log is being written by another request; retry' },
  payload_too_large: { status: 413, message: 'the request body is too large' },
  event_too_large: { status: 413, message: 'one event is larger than 16 KiB of JSON; the batch was refused' },
  // Zone feed (SPEC §13)
  bad_cursor: { status: 400, message: 'after is not a zone-feed cursor; send the last cursor as it is, or none to load the zone again' },
  zone_changed: { status: 409, message: 'the station is in another zone now; load the zone again (after empty)' },
  internal: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export const apiError = errorFactory(API_ERRORS);
