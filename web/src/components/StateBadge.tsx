import type { EpochState } from "../api/types";

const LABEL: Record<EpochState, string> = { built: "built", proposed: "pending", active: "active", revoked: "revoked" };

export function StateBadge({ state }: { state: EpochState | "pending" | "confirmed" | "orphaned" | string }) {
  const label = (LABEL as Record<string, string>)[state] ?? state;
  return <span class={`badge badge-${label}`}>{label}</span>;
}
