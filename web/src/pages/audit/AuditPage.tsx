import { useEffect, useState } from "preact/hooks";
import { api, sharesLogUrl } from "../../api/client";
import type { AuditProgress, AuditReport } from "../../audit/runAudit";
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

/** The audit's progress: a bar over the share lines (indeterminate while downloading and reading the chain). */
function Progress({ progress }: { progress: AuditProgress }) {
  const pct = progress.total > 0 ? Math.min(100, Math.floor((progress.done / progress.total) * 100)) : undefined;
  return (
    <div class="audit-progress" data-testid="audit-progress" data-done={progress.done} data-total={progress.total}>
      <p>
        {progress.phase}
        {progress.total > 0 ? `: ${progress.done.toLocaleString()} of ${progress.total.toLocaleString()} shares (${pct} %)` : progress.done > 0 ? `: ${progress.done.toLocaleString()} lines` : "…"}
      </p>
      {pct === undefined ? <progress /> : <progress value={progress.done} max={progress.total} />}
    </div>
  );
}

function EpochAudit({ epoch }: { epoch: number }) {
  const config = useConfig();
  const [state, setState] = useState<{ report?: AuditReport; error?: unknown; running: boolean }>({ running: true });
  const [progress, setProgress] = useState<AuditProgress>({ phase: "Starting", done: 0, total: 0 });
  const [run, setRun] = useState(0);
  useEffect(() => {
    let current = true;
    setState({ running: true });
    setProgress({ phase: "Starting", done: 0, total: 0 });
    // The auditor's modules (and their hashing) load only when an audit runs: they stay out of the main bundle.
    import("../../audit/runAudit")
      .then(({ runAudit }) => runAudit(config, epoch, (p) => current && setProgress(p)))
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
      {state.running && <Progress progress={progress} />}
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
          This page ran the same audit as the command line, on{" "}
          <a href={sharesLogUrl(epoch)} data-testid="shares-link">
            epoch {epoch}'s share log
          </a>{" "}
          and the pool's published header chain. For epochs too large for a browser (millions of shares), against your own bitcoind (
          <code>--bitcoind URL</code>), or to watch every new root and revoke a bad one in time (<code>pool watch</code>), run it from the command
          line:
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
        Your browser downloads an epoch file and its share log and runs the same audit as <code>pool audit</code>, with the same code: every
        share's proof of work rebuilt from its own bytes and checked against the pool's proof-of-work chain (whose headers it verifies itself),
        every PPLNS window and allocation recomputed, the Merkle tree rebuilt, and the result compared with what the contract recorded, read
        directly from the chain.
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
