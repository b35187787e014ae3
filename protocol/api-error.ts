/**
 * API errors as both services answer them (SPEC §8, §9): `{"error": "<code>", "message": "..."}`
 * with a fitting status. Each service lists its codes once in a table; this is the one class
 * and factory both use.
 */

export interface ErrorSpec {
  status: number;
  message: string;
}

export class ApiError<C extends string = string> extends Error {
  constructor(
    readonly code: C,
    readonly status: number,
    message: string,
    /** Extra fields of the body (e.g. `expectedSeq` of a gap, the window of a refusal). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  /** fastify reads `statusCode`. */
  get statusCode(): number {
    return this.status;
  }

  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.extra };
  }
}

/** `apiError(code, message?, extra?)` for one service's table of codes. */
export function errorFactory<T extends Record<string, ErrorSpec>>(table: T) {
  return (code: keyof T & string, message?: string, extra?: Record<string, unknown>): ApiError<keyof T & string> =>
    new ApiError(code, table[code]!.status, message ?? table[code]!.message, extra);
}
