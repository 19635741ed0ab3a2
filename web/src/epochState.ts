import type { EpochSummary } from "./api/types";

/** How a root stands now, as a person reads it. */
export type RootState = "built" | "pending" | "active" | "superseded" | "revoked";

/**
 * The API reports every accepted epoch as "active"; only the newest of them is the contract's
 * active root (claims pay against it), the older ones were superseded by it.
 */
export function rootStates(epochs: EpochSummary[]): Map<number, RootState> {
  const newestAccepted = Math.max(-1, ...epochs.filter((e) => e.state === "active").map((e) => e.epoch));
  return new Map(
    epochs.map((e) => [e.epoch, e.state === "proposed" ? "pending" : e.state === "active" && e.epoch !== newestAccepted ? "superseded" : e.state]),
  );
}
