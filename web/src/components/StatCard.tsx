import type { ComponentChildren } from "preact";

export function StatCard({ label, children, testId, hint }: { label: string; children: ComponentChildren; testId?: string; hint?: string }) {
  return (
    <div class="stat" data-testid={testId} title={hint}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{children}</div>
    </div>
  );
}
