import { useEffect, useState } from "preact/hooks";
import { api, sharesLogUrl } from "../../api/client";
import type { AuditReport } from "../../audit/runAudit";
import { CopyLine } from "../../components/CopyButton";
import { Loaded } from "../../components/Loaded";
import { ErrorNotice, Notice } from "../../components/Notice";
import { StateBadge } from "../../components/StateBadge";
import { useConfig } from "../../config";
import { rootStates } from "../../epochState";
import { useResource } from "../../hooks/useResource";
import { href, navigate } from "../../routes";

const ICON = { pass: "✓", fail: "✗", skipped: "–" } as const;

function Report({ report }: { report: AuditReport }) {
  return (
    <section class="card" data-testid="audit-report" data-verdict={report.verdict}>
      <div class={`verdict verdict-${report.verdict}`} data-testid="audit-verdict">
        {report.verdict === "pass" ? "PASS" : report.verdict === "fail" ? "FAIL" : "INCOMPLETE"}: {report.summary}
      </div>
      <ul class="checks">
        {report.checks.map((c) => (
          <li key={c.id} class={`check check-${c.status}`} data-check={c.id} data-status={c.status}>
            <span class="check-icon">{ICON[c.status]}</span> {c.text}
            {c.findings && c.findings.length > 0 && (
              <ul class="findings">
                {c.findings.map((f) => (
                  <li key={f}>{f}</li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
      {report.badLeaf && (
        <p class="bad-leaf" data-testid="audit-bad-leaf">
          First differing leaf: #{report.badLeaf.index}, account <code>{report.badLeaf.account}</code>: {report.badLeaf.problem}.
        </p>
      )}
    </section>
  );
}

function EpochAudit({ epoch }: { epoch: number }) {
  const config = useConfig();
  const [state, setState] = useState<{ report?: AuditReport; error?: unknown; running: boolean }>({ running: true });
  const [run, setRun] = useState(0);
  useEffect(() => {
    let current = true;
    setState({ running: true });
    // The Merkle module (and its hashing) loads only when an audit runs: it stays out of the main bundle.
    import("../../audit/runAudit")
      .then(({ runAudit }) => runAudit(config, epoch))
      .then(
        (report) => current && setState({ report, running: false }),
        (error) => current && setState({ error, running: false }),
      );
    return () => {
      current = false;
    };
  }, [epoch, run, config]);
  const api = location.origin;
  return (
    <>
      {state.running && <Notice kind="info">Downloading epoch {epoch}'s file and rebuilding its tree…</Notice>}
      {state.error ? <ErrorNotice error={state.error} context={`Could not audit epoch ${epoch}.`} /> : null}
      {state.report && <Report report={state.report} />}
      <p>
        <button type="button" onClick={() => setRun((n) => n + 1)} disabled={state.running}>
          Run again
        </button>
      </p>
      <section class="card">
        <h2>Go further</h2>
        <p>
          This page checks the tree and the root. The allocations themselves follow from the published share log:{" "}
          <a href={sharesLogUrl(epoch)} data-testid="shares-link">
            download epoch {epoch}'s share log
          </a>
          . The command-line audit recomputes every allocation from it and re-checks each share's proof of work, which commits to the payout
          address that earned it:
        </p>
        <CopyLine text={`npx pool audit --epoch ${epoch} --api ${api} --rpc ${config.rpcUrl} --contract ${config.contract}`} testId="audit-cli" />
      </section>
    </>
  );
}

export function AuditPage({ epoch }: { epoch?: string }) {
  const epochs = useResource(api.epochs, []);
  const n = epoch !== undefined && /^[0-9]+$/.test(epoch) ? Number(epoch) : undefined;
  return (
    <div class="page" data-page="audit">
      <h1>Audit</h1>
      <p>
        Your browser downloads an epoch file, rebuilds the Merkle tree from its leaves with the same code the pool uses, and compares the
        result with the root the contract holds, read directly from the chain.
      </p>
      <Loaded resource={epochs} what="the epochs">
        {(list) => {
          const states = rootStates(list);
          return list.length === 0 ? (
            <p class="muted">No epoch has been published yet.</p>
          ) : (
            <label class="picker">
              Epoch{" "}
              <select data-testid="epoch-select" value={n ?? ""} onChange={(e) => navigate(href.audit((e.target as HTMLSelectElement).value))}>
                {n === undefined && <option value="">choose…</option>}
                {list.map((e) => (
                  <option key={e.epoch} value={e.epoch}>
                    {e.epoch} ({states.get(e.epoch)})
                  </option>
                ))}
              </select>{" "}
              {n !== undefined && states.has(n) && <StateBadge state={states.get(n)!} />}
            </label>
          );
        }}
      </Loaded>
      {epoch !== undefined && n === undefined && <Notice kind="error">"{epoch}" is not an epoch number.</Notice>}
      {n !== undefined && <EpochAudit key={n} epoch={n} />}
    </div>
  );
}
