import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { onLiveUpdate } from "../live";

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` now, again whenever `deps` change, and (unless `live` is false) on every live
 * update. A refresh keeps the last good data on screen; an error is reported beside it.
 */
export function useResource<T>(load: () => Promise<T>, deps: unknown[], live = true): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const generation = useRef(0);
  const inFlight = useRef(false);
  const again = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(() => {
    if (inFlight.current) {
      again.current = true;
      return;
    }
    inFlight.current = true;
    const mine = generation.current;
    setState((s) => ({ ...s, loading: true }));
    loadRef
      .current()
      .then(
        (data) => mine === generation.current && setState({ data, loading: false }),
        (error: unknown) =>
          mine === generation.current &&
          setState((s) => ({ data: s.data, error: error instanceof Error ? error : new Error(String(error)), loading: false })),
      )
      .finally(() => {
        inFlight.current = false;
        if (again.current) {
          again.current = false;
          run();
        }
      });
  }, []);

  useEffect(() => {
    generation.current++;
    inFlight.current = false;
    again.current = false;
    setState({ loading: true });
    run();
    return live ? onLiveUpdate(() => run()) : undefined;
  }, deps);

  return { data: state.data, error: state.error, loading: state.loading, reload: run };
}
