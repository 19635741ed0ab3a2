import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../errors";

/**
 * Renders a component loaded with import() on first use: the wallet code (claim page) and the
 * Merkle module (audit page) stay out of the bundle every other page loads.
 */
export function Lazy<P extends object>({ load, props }: { load: () => Promise<ComponentType<P>>; props: P }) {
  const [loaded, setLoaded] = useState<{ component?: ComponentType<P>; error?: unknown }>({});
  useEffect(() => {
    let current = true;
    load().then(
      (component) => current && setLoaded({ component }),
      (error) => current && setLoaded({ error }),
    );
    return () => {
      current = false;
    };
  }, [load]);
  if (loaded.error) {
    return (
      <div class="notice notice-error" role="alert" data-kind="error">
        This part of the page could not be loaded: {describeError(loaded.error)} Reload the page to try again.
      </div>
    );
  }
  const Component = loaded.component;
  return Component ? <Component {...props} /> : <p class="muted">Loading…</p>;
}
