/** The payout-scheme explorer: its Monte Carlo against the closed forms, reproducibility, the CLI. */
import { expect } from "chai";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { closedForm, expectedMinerBlocks, parseHashrate, parsePeriod, type SchemeModel } from "../src/simulate/model";
import { simulate } from "../src/simulate/montecarlo";
import { Rng } from "../src/simulate/rng";

const run = promisify(execFile);
const BIN = path.join(__dirname, "..", "bin", "pool.js");

/** A miner with 2 % of its pool, about 6 blocks' worth of work in 30 days: enough events for tight checks. */
const MODEL: SchemeModel = {
  hashrate: 1e12,
  poolHashrate: 5e13,
  networkDifficulty: 1e8,
  subsidy: 312_500_000,
  fees: 20_000_000,
  fee: 0.02,
  windowFactor: 2,
  shareDifficulty: (1e12 * 10) / 2 ** 32,
  periodSeconds: 30 * 86400,
};
const RUNS = 4000;

describe("payout-scheme explorer", function () {
  this.timeout(120_000);
  let result: ReturnType<typeof simulate>;
  before(() => {
    result = simulate(MODEL, { schemes: ["pplns", "pps", "fpps", "solo"], runs: RUNS, seed: 42 });
  });
  const get = (s: string) => result.results.find((r) => r.scheme === s)!;

  it("every scheme's simulated mean equals its closed form within 4 standard errors; each is the miner's share of the network × blocks × reward × (1 − f) (PPS: subsidy only)", () => {
    const m = expectedMinerBlocks(MODEL);
    const R = MODEL.subsidy + MODEL.fees;
    expect(closedForm("pplns", MODEL).mean).to.be.closeTo(m * R * (1 - MODEL.fee), 1e-6);
    expect(closedForm("fpps", MODEL).mean).to.be.closeTo(m * R * (1 - MODEL.fee), 1e-6);
    expect(closedForm("pps", MODEL).mean).to.be.closeTo(m * MODEL.subsidy * (1 - MODEL.fee), 1e-6);
    expect(closedForm("solo", MODEL).mean).to.be.closeTo(m * R, 1e-6);
    for (const r of result.results) {
      const se = r.closedForm.std / Math.sqrt(RUNS);
      expect(Math.abs(r.mean - r.closedForm.mean), `${r.scheme}: mean ${r.mean} vs ${r.closedForm.mean} (se ${se})`).to.be.below(4 * se + 1e-9 * r.closedForm.mean);
    }
  });

  it("standard deviations match: solo is compound Poisson, PPLNS follows Rosenfeld's variance for its window, PPS has no variance from luck", () => {
    for (const s of ["solo", "pplns", "pps", "fpps"]) {
      const r = get(s);
      // The sample standard deviation of 4000 runs is within a few per cent for these shapes.
      expect(r.std / r.closedForm.std, s).to.be.within(0.92, 1.08);
    }
    expect(get("pps").std / get("pps").mean).to.be.below(0.01);
    expect(get("pplns").std / get("pplns").mean).to.be.below(get("solo").std / get("solo").mean / 3);
    // Solo: P(nothing) = e^-m.
    expect(get("solo").pZero).to.be.closeTo(Math.exp(-expectedMinerBlocks(MODEL)), 0.01);
  });

  it("the PPS operator needs a reserve; FPPS needs more; the figures are reproducible from the seed", () => {
    expect(get("pps").operatorReserve).to.be.above(0);
    expect(get("fpps").operatorReserve!).to.be.above(get("pps").operatorReserve!);
    const again = simulate(MODEL, { schemes: ["pplns", "pps", "fpps", "solo"], runs: RUNS, seed: 42 });
    expect(JSON.stringify(again)).to.equal(JSON.stringify(result));
    const other = simulate(MODEL, { schemes: ["pplns"], runs: RUNS, seed: 43 });
    expect(other.results[0].mean).to.not.equal(get("pplns").mean);
    // A scheme's figures do not depend on which other schemes were asked for.
    const alone = simulate(MODEL, { schemes: ["pplns"], runs: RUNS, seed: 42 });
    expect(alone.results[0].mean).to.equal(get("pplns").mean);
  });

  it("the cumulative curve ends at the period's distribution and never decreases", () => {
    for (const r of result.results) {
      expect(r.timeline.mean[r.timeline.mean.length - 1]).to.be.closeTo(r.mean, 1e-6 * r.mean + 1e-9);
      for (let k = 1; k < r.timeline.mean.length; k++) expect(r.timeline.mean[k]).to.be.at.least(r.timeline.mean[k - 1]);
      expect(r.histogram.counts.reduce((a, b) => a + b, 0)).to.equal(RUNS);
    }
  });

  it("the Poisson sampler has the right mean and variance on both of its methods", () => {
    const rng = new Rng(9);
    for (const mean of [0.3, 7, 29.9, 30, 250, 1e6]) {
      let s = 0;
      let s2 = 0;
      const n = 20_000;
      for (let i = 0; i < n; i++) {
        const k = rng.poisson(mean);
        s += k;
        s2 += k * k;
      }
      const m = s / n;
      const v = s2 / n - m * m;
      expect(m, `mean ${mean}`).to.be.closeTo(mean, 5 * Math.sqrt(mean / n));
      expect(v / mean, `variance ${mean}`).to.be.within(0.95, 1.05);
    }
  });

  it("parses hash rates and periods, naming the field on bad input", () => {
    expect(parseHashrate("1.2TH/s", "--hashrate")).to.equal(1.2e12);
    expect(parseHashrate("500 GH/s", "x")).to.equal(5e11);
    expect(parseHashrate("3e15", "x")).to.equal(3e15);
    expect(() => parseHashrate("fast", "--hashrate")).to.throw(RangeError, /--hashrate: expected a hash rate/);
    expect(parsePeriod("30d", "--period")).to.equal(30 * 86400);
    expect(() => parsePeriod("forever", "--period")).to.throw(RangeError, /--period/);
    expect(() => simulate({ ...MODEL, poolHashrate: 1 }, { schemes: ["pplns"] })).to.throw(RangeError, /poolHashrate/);
  });

  it("`pool simulate --json` (on a worker thread) gives the in-process figures for the same seed; bad flags exit 2 naming them", async () => {
    const { stdout } = await run(process.execPath, [BIN, "simulate", "--hashrate", "1TH/s", "--pool-hashrate", "50TH/s", "--difficulty", "1e8", "--subsidy", "3.125", "--fees", "0.2", "--fee-bps", "200", "--period", "30d", "--runs", "500", "--seed", "5", "--scheme", "pplns,solo", "--json"]);
    const cli = JSON.parse(stdout);
    const local = simulate({ ...MODEL, fees: 20_000_000, shareDifficulty: Math.min(1e8, (1e12 * 10) / 2 ** 32) }, { schemes: ["pplns", "solo"], runs: 500, seed: 5 });
    expect(cli.results.map((r: { mean: number }) => r.mean)).to.deep.equal(local.results.map((r) => r.mean));
    const table = await run(process.execPath, [BIN, "simulate", "--hashrate", "1TH/s", "--pool-hashrate", "50TH/s", "--difficulty", "1e8", "--runs", "200", "--period", "7d"]);
    expect(table.stdout).to.match(/^scheme\s+mean BTC\s+std\s+p5\s+p50\s+p95\s+P\(nothing\)/m);
    expect(table.stdout).to.match(/^pplns\s+\d+\.\d{8}/m);
    for (const [args, why] of [
      [["--hashrate", "fast", "--pool-hashrate", "1PH/s", "--difficulty", "1"], /--hashrate: expected a hash rate/],
      [["--hashrate", "1TH/s", "--difficulty", "1"], /--pool-hashrate: required/],
      [["--hashrate", "1TH/s", "--pool-hashrate", "1PH/s", "--difficulty", "1", "--scheme", "prop"], /--scheme: unknown scheme "prop"/],
      [["--hashrate", "1TH/s", "--pool-hashrate", "1PH/s", "--difficulty", "lots"], /--difficulty: expected a number/],
    ] as [string[], RegExp][]) {
      const r = await run(process.execPath, [BIN, "simulate", ...args]).then(
        () => ({ code: 0, stderr: "" }),
        (e) => ({ code: e.code as number, stderr: e.stderr as string }),
      );
      expect(r.code, args.join(" ")).to.equal(2);
      expect(r.stderr).to.match(why);
    }
  });
});
