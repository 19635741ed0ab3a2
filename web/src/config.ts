import { createContext } from "preact";
import { useContext, useEffect, useState } from "preact/hooks";
import { api } from "./api/client";
import type { PoolConfig } from "./api/types";

export const ConfigContext = createContext<PoolConfig | null>(null);

/** The pool's /api/config; the app renders pages only once it has loaded. */
export function useConfig(): PoolConfig {
  const config = useContext(ConfigContext);
  if (!config) throw new Error("the pool's configuration is not loaded");
  return config;
}

const RETRY_MS = 5000;

/** Loads /api/config once, retrying every 5 s while the API is down (the page recovers by itself). */
export function useLoadConfig(): { config?: PoolConfig; error?: unknown } {
  const [state, setState] = useState<{ config?: PoolConfig; error?: unknown }>({});
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const attempt = () =>
      api.config().then(
        (config) => !stopped && setState({ config }),
        (error: unknown) => {
          if (stopped) return;
          setState({ error });
          timer = setTimeout(attempt, RETRY_MS);
        },
      );
    attempt();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, []);
  return state;
}
