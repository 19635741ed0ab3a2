import type { ComponentChildren } from "preact";
import type { Resource } from "../hooks/useResource";
import { ErrorNotice } from "./Notice";

/**
 * Renders `children(data)` once a resource has data; a loading line before, and the error (above
 * the last good data, if any) when a load failed.
 */
export function Loaded<T>({ resource, what, children }: { resource: Resource<T>; what: string; children: (data: T) => ComponentChildren }) {
  const { data, error } = resource;
  return (
    <>
      {error && <ErrorNotice error={error} context={`Could not load ${what}.`} />}
      {data !== undefined ? children(data) : !error && <p class="muted">Loading {what}…</p>}
    </>
  );
}
