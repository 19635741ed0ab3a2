import { useEffect, useState } from "preact/hooks";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { ErrorNotice } from "./components/Notice";
import { ConfigContext, useLoadConfig } from "./config";
import { onLiveMode, type LiveMode } from "./live";
import { Lazy } from "./components/Lazy";
import { MinerPage } from "./pages/miner/MinerPage";
import { PoolPage } from "./pages/pool/PoolPage";
import { href, useRoute, type Route } from "./routes";

function LiveIndicator() {
  const [mode, setMode] = useState<LiveMode>("connecting");
  useEffect(() => onLiveMode(setMode), []);
  const text = mode === "events" ? "live" : mode === "polling" ? "refreshing every 5 s" : "connecting…";
  return (
    <span class={`live live-${mode}`} data-testid="live-mode" title="How this page learns about new shares, blocks and roots">
      ● {text}
    </span>
  );
}

const loadClaimPage = () => import("./pages/claim/ClaimPage").then((m) => m.ClaimPage);
const loadAuditPage = () => import("./pages/audit/AuditPage").then((m) => m.AuditPage);
const loadSchemesPage = () => import("./pages/schemes/SchemesPage").then((m) => m.SchemesPage);

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "pool":
      return <PoolPage />;
    case "miner":
      return <MinerPage address={route.address} />;
    case "claim":
      return <Lazy load={loadClaimPage} props={{ address: route.address }} />;
    case "audit":
      return <Lazy load={loadAuditPage} props={{ epoch: route.epoch }} />;
    case "schemes":
      return <Lazy load={loadSchemesPage} props={{ address: route.address }} />;
    case "unknown":
      return (
        <div class="notice notice-error" role="alert">
          There is no page "{route.path}". <a href={href.pool()}>Go to the pool page</a>.
        </div>
      );
  }
}

export function App() {
  const route = useRoute();
  const config = useLoadConfig();
  return (
    <>
      <header class="top">
        <a class="brand" href={href.pool()} data-testid="brand">
          {/* The configured payout scheme once /api/config has loaded (older pools: PPLNS). */}
          {(config.config?.payoutScheme ?? "pplns").toUpperCase()} pool
        </a>
        <nav>
          <a href={href.pool()} class={route.page === "pool" ? "current" : ""}>
            Pool
          </a>
          <a href={href.miner()} class={route.page === "miner" ? "current" : ""}>
            Miner
          </a>
          <a href={href.claim()} class={route.page === "claim" ? "current" : ""}>
            Claim
          </a>
          <a href={href.audit()} class={route.page === "audit" ? "current" : ""}>
            Audit
          </a>
          <a href={href.schemes()} class={route.page === "schemes" ? "current" : ""}>
            Payout schemes
          </a>
        </nav>
        <LiveIndicator />
      </header>
      <main>
        {config.config ? (
          <ConfigContext.Provider value={config.config}>
            <ErrorBoundary resetKey={location.hash}>
              <Page route={route} />
            </ErrorBoundary>
          </ConfigContext.Provider>
        ) : config.error ? (
          <ErrorNotice error={config.error} context="The page cannot start without the pool's configuration (retrying every 5 s)." />
        ) : (
          <p class="muted">Loading…</p>
        )}
      </main>
    </>
  );
}
