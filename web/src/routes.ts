import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "pool" }
  | { page: "miner"; address?: string }
  | { page: "claim"; address?: string }
  | { page: "audit"; epoch?: string }
  | { page: "schemes"; address?: string }
  | { page: "unknown"; path: string };

/** #/pool, #/miner/0x…, #/claim[/0x…], #/audit[/N], #/schemes[/0x…]; an empty hash is the pool page. */
export function parseRoute(hash: string): Route {
  const path = decodeURIComponent(hash.replace(/^#\/?/, ""));
  const [page = "", arg] = path.split("/").filter(Boolean);
  switch (page) {
    case "":
    case "pool":
      return { page: "pool" };
    case "miner":
      return { page: "miner", address: arg };
    case "claim":
      return { page: "claim", address: arg };
    case "audit":
      return { page: "audit", epoch: arg };
    case "schemes":
      return { page: "schemes", address: arg };
    default:
      return { page: "unknown", path };
  }
}

export const href = {
  pool: () => "#/pool",
  miner: (address?: string) => (address ? `#/miner/${address}` : "#/miner"),
  claim: (address?: string) => (address ? `#/claim/${address}` : "#/claim"),
  audit: (epoch?: number | string) => (epoch !== undefined ? `#/audit/${epoch}` : "#/audit"),
  schemes: (address?: string) => (address ? `#/schemes/${address}` : "#/schemes"),
};

export function navigate(to: string): void {
  if (location.hash !== to) location.hash = to;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", update);
    return () => removeEventListener("hashchange", update);
  }, []);
  return route;
}
