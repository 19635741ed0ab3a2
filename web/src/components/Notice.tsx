import type { ComponentChildren } from "preact";
import { describeError } from "../errors";

type Kind = "error" | "warn" | "info" | "ok";

export function Notice({ kind, title, children }: { kind: Kind; title?: string; children?: ComponentChildren }) {
  return (
    <div class={`notice notice-${kind}`} role={kind === "error" ? "alert" : "status"} data-kind={kind}>
      {title && <strong>{title} </strong>}
      {children}
    </div>
  );
}

/** An error as a sentence a user can act on. */
export function ErrorNotice({ error, context }: { error: unknown; context?: string }) {
  return (
    <Notice kind="error" title={context}>
      {describeError(error)}
    </Notice>
  );
}
