import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../../api/client";
import { Notice } from "../../components/Notice";
import { btcText, formatHashrate, modelFromInputs, parseHashrate, parsePeriod, SCHEMES, type Scheme, type SchemeModel } from "../../../../src/simulate/model";
import type { SimulationResult } from "../../../../src/simulate/montecarlo";
import { SchemeCharts } from "./SchemeCharts";

interface Form {
  hashrate: string;
  poolHashrate: string;
  difficulty: string;
  subsidy: string;
  fees: string;
  feeBps: string;
  window: string;
  shareSeconds: string;
  period: string;
  runs: string;
  seed: string;
  schemes: Scheme[];
}

const DEFAULTS: Form = {
  hashrate: "1.2TH/s",
  poolHashrate: "",
  difficulty: "",
  subsidy: "3.125",
  fees: "0.02",
  feeBps: "100",
  window: "2",
  shareSeconds: "10",
  period: "30d",
  runs: "2000",
  seed: "1",
  schemes: [...SCHEMES],
};

/** The form as a model and options; throws RangeError naming the field (as the CLI's flags). */
function toModel(f: Form): { model: SchemeModel; runs: number; seed: number; schemes: Scheme[] } {
  const num = (v: string, field: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new RangeError(`${field}: expected a number, got ${JSON.stringify(v)}`);
    return n;
  };
  const hashrate = parseHashrate(f.hashrate, "Your hash rate");
  const model = modelFromInputs({
    hashrate,
    poolHashrate: parseHashrate(f.poolHashrate, "Pool hash rate"),
    networkDifficulty: num(f.difficulty, "Network difficulty"),
    subsidyBtc: num(f.subsidy, "Subsidy"),
    feesBtc: num(f.fees, "Fees per block"),
    feeBps: num(f.feeBps, "Pool fee"),
    windowFactor: num(f.window, "PPLNS window"),
    shareSeconds: num(f.shareSeconds, "Seconds per share"),
    periodSeconds: parsePeriod(f.period, "Period"),
  });
  if (f.schemes.length === 0) throw new RangeError("Schemes: choose at least one");
  return { model, runs: num(f.runs, "Runs"), seed: num(f.seed, "Seed"), schemes: f.schemes };
}

/**
 * "Payout schemes": what PPLNS, PPS, FPPS and solo mining mean for one miner's income, simulated
 * in a Web Worker from the same module as `pool simulate` (same inputs and seed, same figures).
 * Prefilled from the live pool (hash rate, network difficulty, fee, window) and, opened as
 * #/schemes/0xADDRESS, from that miner's hash rate.
 */
export function SchemesPage({ address }: { address?: string }) {
  const [form, setForm] = useState<Form>(DEFAULTS);
  const [result, setResult] = useState<SimulationResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const worker = useRef<Worker | null>(null);

  useEffect(() => {
    let stopped = false;
    Promise.all([api.config(), api.stats(), address ? api.miner(address).catch(() => null) : Promise.resolve(null)]).then(
      ([config, stats, miner]) => {
        if (stopped) return;
        const c = config as unknown as { feeBps?: number; pplnsFactor?: string };
        setForm((f) => ({
          ...f,
          poolHashrate: stats.hashrate > 0 ? `${stats.hashrate}` : f.poolHashrate || "1PH/s",
          difficulty: String(stats.chain.networkDifficulty),
          feeBps: c.feeBps !== undefined ? String(c.feeBps) : f.feeBps,
          window: c.pplnsFactor ?? f.window,
          hashrate: miner && miner.hashrate > 0 ? `${miner.hashrate}` : f.hashrate,
        }));
      },
      () => undefined,
    );
    return () => {
      stopped = true;
      worker.current?.terminate();
    };
  }, [address]);

  const run = (e?: Event) => {
    e?.preventDefault();
    let input;
    try {
      input = toModel(form);
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    setError(null);
    setRunning(true);
    worker.current?.terminate();
    const w = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
    worker.current = w;
    w.onmessage = (m: MessageEvent<{ ok: true; result: SimulationResult } | { ok: false; error: string }>) => {
      setRunning(false);
      if (m.data.ok) setResult(m.data.result);
      else setError(m.data.error);
      w.terminate();
    };
    w.postMessage({ model: input.model, opts: { schemes: input.schemes, runs: input.runs, seed: input.seed } });
  };

  const field = (key: Exclude<keyof Form, "schemes">, label: string, hint?: string) => (
    <label>
      {label}
      <input name={key} value={form[key]} onInput={(e) => setForm({ ...form, [key]: (e.target as HTMLInputElement).value })} />
      {hint && <small class="muted">{hint}</small>}
    </label>
  );

  return (
    <div class="page" data-page="schemes">
      <h1>Payout schemes</h1>
      <p>
        Who carries the luck of block discovery? Under <b>PPS</b> the operator pays every share its expected value of the subsidy (<b>FPPS</b>: and
        of the fees) and carries all of it; under <b>PPLNS</b> miners share each block actually found over the last N difficulty-units of shares;
        mining <b>solo</b>, you keep every block you find. The figures are simulated (seeded: the same inputs give the same numbers as{" "}
        <code>pool simulate</code>) and checked against the closed forms (docs/schemes.md).
      </p>
      <form class="scheme-form" onSubmit={run}>
        {field("hashrate", "Your hash rate", address ? `from ${address}'s last 10 minutes` : "e.g. 1.2TH/s")}
        {field("poolHashrate", "Pool hash rate", "the pool's, including yours")}
        {field("difficulty", "Network difficulty")}
        {field("subsidy", "Subsidy (BTC)")}
        {field("fees", "Fees per block (BTC)")}
        {field("feeBps", "Pool fee (bps)")}
        {field("window", "PPLNS window (× difficulty)")}
        {field("shareSeconds", "Seconds per share")}
        {field("period", "Period", "1d, 7d, 30d")}
        {field("runs", "Runs")}
        {field("seed", "Seed")}
        <fieldset>
          <legend>Schemes</legend>
          {SCHEMES.map((s) => (
            <label key={s}>
              <input
                type="checkbox"
                name={`scheme-${s}`}
                checked={form.schemes.includes(s)}
                onChange={(e) => setForm({ ...form, schemes: (e.target as HTMLInputElement).checked ? SCHEMES.filter((x) => x === s || form.schemes.includes(x)) : form.schemes.filter((x) => x !== s) })}
              />{" "}
              {s}
            </label>
          ))}
        </fieldset>
        <button type="submit" data-testid="simulate" disabled={running}>
          {running ? "Simulating…" : "Simulate"}
        </button>
      </form>
      {error && (
        <Notice kind="error" title="Cannot simulate.">
          {error}
        </Notice>
      )}
      {result && (
        <>
          <p class="muted" data-testid="scheme-summary">
            {formatHashrate(result.model.hashrate)} in a pool of {formatHashrate(result.model.poolHashrate)}, {result.model.periodSeconds / 86400} days,{" "}
            {result.runs} runs, seed {result.seed}
          </p>
          <table class="scheme-table">
            <thead>
              <tr>
                <th>scheme</th>
                <th>mean BTC</th>
                <th>std</th>
                <th>p5</th>
                <th>p50</th>
                <th>p95</th>
                <th>P(nothing)</th>
                <th>closed form mean ± std</th>
                <th>operator reserve</th>
              </tr>
            </thead>
            <tbody>
              {result.results.map((r) => (
                <tr key={r.scheme} data-testid={`scheme-row-${r.scheme}`}>
                  <td>{r.scheme}</td>
                  <td data-testid={`mean-${r.scheme}`}>{btcText(r.mean)}</td>
                  <td data-testid={`std-${r.scheme}`}>{btcText(r.std)}</td>
                  <td>{btcText(r.p5)}</td>
                  <td>{btcText(r.p50)}</td>
                  <td>{btcText(r.p95)}</td>
                  <td data-testid={`pzero-${r.scheme}`}>{(r.pZero * 100).toFixed(1)} %</td>
                  <td>
                    {btcText(r.closedForm.mean)} ± {btcText(r.closedForm.std)}
                  </td>
                  <td>{r.operatorReserve !== undefined ? btcText(r.operatorReserve) : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <SchemeCharts results={result.results} />
        </>
      )}
    </div>
  );
}
