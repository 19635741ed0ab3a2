/** Stratum V1 error codes as stock miners display them. */
export const ErrorCode = {
  OTHER: 20,
  JOB_NOT_FOUND: 21,
  DUPLICATE: 22,
  LOW_DIFFICULTY: 23,
  UNAUTHORIZED: 24,
  NOT_SUBSCRIBED: 25,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Short machine-readable reasons, used as counter labels for rejected shares. */
export type RejectReason =
  | "not-subscribed"
  | "unauthorized"
  | "bad-params"
  | "job-not-found"
  | "stale"
  | "duplicate"
  | "low-difficulty"
  | "ntime-out-of-range"
  | "version-bits-outside-mask"
  | "share-limit"
  | "internal";

/** A refusal to send back as `error: [code, message, null]`. */
export class StratumError extends Error {
  constructor(
    readonly code: ErrorCodeValue,
    message: string,
    readonly reason: RejectReason = "bad-params",
  ) {
    super(message);
  }
}
