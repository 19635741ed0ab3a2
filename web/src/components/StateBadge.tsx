/** A coloured label for a root, block or payout state. */
export function StateBadge({ state }: { state: string }) {
  return <span class={`badge badge-${state}`}>{state}</span>;
}
