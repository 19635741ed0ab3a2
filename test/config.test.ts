import { expect } from "chai";
import { loadConfig, ConfigError } from "../src/config";
import { prettyLine, wantsPretty } from "../src/log";
import { toUnits, unitsFor } from "../src/evm/asset";
import { assetProblem } from "../src/epochs/units";

const GOOD = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
/** The same address with one letter's case flipped: a valid address, an invalid EIP-55 checksum. */
const BAD_CHECKSUM = "0x70997970c51812dc3A010C7d01b50e0d17dc79C8";

/** Every value must be refused with a ConfigError naming `setting`, never coerced. */
function refuses(setting: string, source: { env?: Record<string, string>; overrides?: Record<string, unknown> }, message?: string) {
  let err: unknown;
  try {
    loadConfig({ env: source.env ?? {}, overrides: source.overrides });
  } catch (e) {
    err = e;
  }
  expect(err, `${setting} ← ${JSON.stringify(source)} was accepted`).to.be.instanceOf(ConfigError);
  expect((err as Error).message, JSON.stringify(source)).to.contain(setting);
  if (message) expect((err as Error).message).to.contain(message);
}

describe("config: values are validated, never coerced", () => {
  it("refuses null, empty, blank and boolean values for numbers, naming the setting", () => {
    for (const v of [true, false, null, "", " ", "1e3", "0x10", [1], "8080 "]) refuses("stratum.port", { overrides: { stratum: { port: v } } });
    for (const v of [true, null, "", "  "]) refuses("pplns.feeBps", { overrides: { pplns: { feeBps: v } } });
    for (const v of [true, null, ""]) refuses("stratum.startDifficulty", { overrides: { stratum: { startDifficulty: v } } });
    for (const v of [null, "", "yes", 1, 0]) refuses("committer.fundEpochs", { overrides: { committer: { fundEpochs: v } } });
    for (const v of [null, "", " ", 7]) refuses("dataDir", { overrides: { dataDir: v } });
    for (const v of [null, true, "x", "0", ""]) refuses("pplns.factor", { overrides: { pplns: { factor: v } } });
  });

  it("takes a role (all, stratum, committer, api) and refuses the others; a split role needs PostgreSQL, bitcoind and an external EVM, naming what is missing", () => {
    expect(loadConfig({ env: {} }).role).to.equal("all");
    for (const v of ["", "front", "ALL", 1, null]) refuses("role", { overrides: { role: v } });
    const full = {
      store: { postgresUrl: "postgres://pool@127.0.0.1:5432/pool" },
      chain: { bitcoindUrl: "http://127.0.0.1:8332", bitcoindUser: "u", bitcoindPassword: "p", payoutScript: "0014751e76e8199196d454941c45d1b3a323f1433bd6" },
      evm: { rpcUrl: "http://127.0.0.1:8545", contract: GOOD, operatorKey: "0x" + "11".repeat(32) },
    };
    for (const role of ["stratum", "committer", "api"]) {
      expect(loadConfig({ env: { POOL_ROLE: role }, overrides: full }).role).to.equal(role);
      refuses("role", { overrides: { ...full, role, store: {} } }, "needs store.postgresUrl");
      refuses("role", { overrides: { ...full, role, chain: {} } }, "needs chain.bitcoindUrl");
      refuses("role", { overrides: { ...full, role, evm: {} } }, "needs evm.rpcUrl");
    }
  });

  it("takes stratum.processes (POOL_STRATUM_PROCESSES) as a whole number from 1 to 256, default 1, and store.writerThread as a boolean", () => {
    expect(loadConfig({ env: {} }).stratum.processes).to.equal(1);
    expect(loadConfig({ env: { POOL_STRATUM_PROCESSES: "4" } }).stratum.processes).to.equal(4);
    for (const v of [0, 257, 1.5, "two", null, ""]) refuses("stratum.processes", { overrides: { stratum: { processes: v } } });
    expect(loadConfig({ env: {} }).store.writerThread).to.equal(undefined);
    expect(loadConfig({ env: { POOL_STORE_WRITER_THREAD: "true" } }).store.writerThread).to.equal(true);
    for (const v of ["yes", 1, null, ""]) refuses("store.writerThread", { overrides: { store: { writerThread: v } } });
  });

  it("refuses a variable that is set but blank instead of treating it as 0 or unset", () => {
    refuses("pplns.feeBps", { env: { POOL_FEE_BPS: " " } }, "POOL_FEE_BPS is set but empty");
    refuses("pplns.feeBps", { env: { POOL_FEE_BPS: "" } });
    refuses("stratum.port", { env: { POOL_STRATUM_PORT: "\t" } });
    refuses("evm.contract", { env: { POOL_CONTRACT: "" } });
  });

  it("refuses an address with a bad EIP-55 checksum and accepts lower case and the checksummed form", () => {
    refuses("pplns.feeAddress", { overrides: { pplns: { feeAddress: BAD_CHECKSUM } } }, "bad EIP-55 checksum");
    refuses("pplns.feeAddress", { env: { POOL_FEE_ADDRESS: BAD_CHECKSUM } }, GOOD);
    expect(loadConfig({ env: {}, overrides: { pplns: { feeAddress: GOOD.toLowerCase() } } }).pplns.feeAddress).to.equal(GOOD);
    expect(loadConfig({ env: {}, overrides: { pplns: { feeAddress: GOOD } } }).pplns.feeAddress).to.equal(GOOD);
  });

  it("refuses difficulties the store cannot hold (more than 12 decimals, or below 10^-12)", () => {
    refuses("stratum.minDifficulty", { overrides: { stratum: { minDifficulty: "0.0000000000001" } } }, "more than 12 decimals");
    refuses("stratum.startDifficulty", { overrides: { stratum: { startDifficulty: "0.1000000000001" } } }, "more than 12 decimals");
    refuses("stratum.maxDifficulty", { overrides: { stratum: { maxDifficulty: 1e-13 } } });
    refuses("chain.networkDifficulty", { overrides: { chain: { networkDifficulty: "0.0000000000000" } } });
    // Trailing zeros past the 12th decimal change nothing: accepted.
    expect(loadConfig({ env: {}, overrides: { stratum: { startDifficulty: "0.0010000000000000" } } }).stratum.startDifficulty).to.equal("0.0010000000000000");
  });

  it("refuses a start difficulty outside [min, max], compared exactly", () => {
    refuses("stratum.startDifficulty", { overrides: { stratum: { startDifficulty: "0.00009", minDifficulty: "0.0001" } } }, "below stratum.minDifficulty");
    refuses("stratum.startDifficulty", { overrides: { stratum: { startDifficulty: "5", maxDifficulty: "4" } } }, "above stratum.maxDifficulty");
    // Equal to the minimum at the 12th decimal: fine.
    const c = loadConfig({ env: {}, overrides: { stratum: { startDifficulty: "0.000000000001", minDifficulty: "0.000000000001" } } });
    expect(c.stratum.startDifficulty).to.equal("0.000000000001");
    refuses("stratum.minDifficulty", { overrides: { stratum: { minDifficulty: "10", maxDifficulty: "9.999999999999", startDifficulty: "9.999999999999" } } }, "above stratum.maxDifficulty");
  });

  it("takes the payout threshold and the operator-balance alarm in whole units of the asset", () => {
    expect(loadConfig({ env: { POOL_PAYOUT_THRESHOLD: "0.01" } }).payouts.threshold).to.equal("0.01");
    refuses("payouts.threshold", { overrides: { payouts: { threshold: 0.01 } } }, "decimal string");
    refuses("payouts.threshold", { env: { POOL_PAYOUT_THRESHOLD: "-1" } });
    expect(toUnits("payouts.threshold", "0.01", 8)).to.equal(1_000_000n);
    expect(toUnits("payouts.threshold", ".5", 18)).to.equal(500_000_000_000_000_000n);
    expect(() => toUnits("payouts.threshold", "0.000000001", 8)).to.throw(ConfigError, "payouts.threshold");
  });

  it("takes POOL_TOKEN=native as the deploy script does, and checks the satoshi mapping against the asset's decimals", () => {
    expect(loadConfig({ env: { POOL_TOKEN: "native" } }).evm.token).to.equal("0x0000000000000000000000000000000000000000");
    expect(unitsFor({ symbol: "tBTC", decimals: 8 }, 1n)).to.deep.equal({ unitsPerSatoshi: 1n });
    expect(unitsFor({ symbol: "tBTC", decimals: 8 }, undefined)).to.deep.equal({ unitsPerSatoshi: 1n });
    expect(() => unitsFor({ symbol: "tBTC", decimals: 8 }, 10n)).to.throw(ConfigError, "one satoshi is 1 of its smallest units");
    expect(() => unitsFor({ symbol: "USDC", decimals: 6 }, 1n)).to.throw(ConfigError, "fewer than a satoshi's 8");
    expect(() => unitsFor({ symbol: "ETH", decimals: 18 }, 1n)).to.throw(ConfigError, "one satoshi is 10000000000");
    expect(unitsFor({ symbol: "ETH", decimals: 18 }, 10_000_000_000n)).to.deep.equal({ unitsPerSatoshi: 10_000_000_000n });
    expect(() => unitsFor({ symbol: "ETH", decimals: 18 }, 100n)).to.throw(ConfigError, "evm.unitsPerSatoshi").with.property("message").that.contains("is 100");
    expect(() => unitsFor({ symbol: "USDC", decimals: 6 }, undefined)).to.throw(ConfigError, "fewer than a satoshi's 8");
    expect(unitsFor({ symbol: "ETH", decimals: 18 }, undefined).warning).to.contain("a 50 BTC block = 0.000000005 ETH").and.contain("set evm.unitsPerSatoshi to 10000000000");
    refuses("evm.unitsPerSatoshi", { env: { POOL_UNITS_PER_SATOSHI: "0" } });
    // The same rule where the epoch builder and the auditor read an epoch file's asset.
    expect(assetProblem({ symbol: "ETH", decimals: 18, unitsPerSatoshi: "10000000000" })).to.equal(undefined);
    expect(assetProblem({ symbol: "ETH", decimals: 18, unitsPerSatoshi: "1" }), "1 per satoshi: a pool without the setting").to.equal(undefined);
    expect(assetProblem({ symbol: "ETH", decimals: 18, unitsPerSatoshi: "100" })).to.contain("asset.unitsPerSatoshi is 100").and.contain("10000000000");
    expect(assetProblem({ symbol: "USDC", decimals: 6, unitsPerSatoshi: "1" })).to.contain("fewer than a satoshi's 8");
  });

  it("log level and format are settings; pretty lines are readable", () => {
    refuses("log.level", { env: { POOL_LOG_LEVEL: "loud" } });
    refuses("log.format", { overrides: { log: { format: "xml" } } });
    expect(loadConfig({ env: { POOL_LOG_LEVEL: "debug", POOL_LOG_FORMAT: "json" } }).log).to.deep.equal({ level: "debug", format: "json" });
    expect(wantsPretty("auto", { isTTY: true })).to.equal(true);
    expect(wantsPretty("auto", { isTTY: false })).to.equal(false);
    expect(wantsPretty("pretty", {})).to.equal(true);
    expect(wantsPretty("json", { isTTY: true })).to.equal(false);
    const line = prettyLine(JSON.stringify({ level: 40, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 1, hostname: "h", part: "committer", epoch: 3, reason: "two words", msg: "root still pending" }));
    expect(line).to.equal('03:04:05.006 WARN  [committer] root still pending epoch=3 reason="two words"');
  });
});

describe("pool rebuild-epoch: which store", () => {
  it("names the store it would open and refuses to create one", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { rebuildEpochCommand } = await import("../src/cli/rebuild");
    const { UsageError } = await import("../src/cli/args");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pool-rebuild-"));
    const saved = process.env.POOL_DATA_DIR;
    process.env.POOL_DATA_DIR = dir;
    try {
      const err = await rebuildEpochCommand([], () => undefined).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(UsageError);
      expect(err!.message).to.contain(`no share store at ${path.join(dir, "shares.sqlite")}`).and.to.contain("no --config");
      expect(fs.existsSync(path.join(dir, "shares.sqlite")), "no store was created").to.equal(false);

      const { openShareStore } = await import("../src/shares");
      await (await openShareStore({ kind: "sqlite", dataDir: dir })).close();
      const lines: string[] = [];
      expect(await rebuildEpochCommand([], (l) => lines.push(l))).to.equal(1);
      expect(lines[0]).to.equal(`store: ${path.join(dir, "shares.sqlite")} (from POOL_* variables and the defaults (no --config))`);
      expect(lines[1]).to.equal("nothing to rebuild: the latest epoch is none");
    } finally {
      if (saved === undefined) delete process.env.POOL_DATA_DIR;
      else process.env.POOL_DATA_DIR = saved;
    }
  });
});

describe("pool start: the web page wherever it runs", function () {
  this.timeout(120_000);
  it("builds the page when the checkout has none, and leaves a built one alone", async () => {
    const fs = await import("node:fs");
    const os = await import("node:os");
    const path = await import("node:path");
    const { ensureWebPage } = await import("../src/cli/webBuild");
    const root = path.join(__dirname, "..");
    // A copy of the project's web sources and Vite, without dist/: what `npx pool start` meets in a fresh checkout.
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "pool-webbuild-"));
    fs.cpSync(path.join(root, "web"), path.join(copy, "web"), { recursive: true });
    fs.cpSync(path.join(root, "src"), path.join(copy, "src"), { recursive: true });
    fs.symlinkSync(path.join(root, "node_modules"), path.join(copy, "node_modules"));
    const first = ensureWebPage(copy);
    expect(first.problem).to.equal(undefined);
    expect(first.built).to.equal(true);
    expect(fs.readFileSync(path.join(copy, "dist", "web", "index.html"), "utf8")).to.contain("<script");
    expect(ensureWebPage(copy)).to.deep.equal({ built: false, dir: path.join(copy, "dist", "web") });
    const bare = fs.mkdtempSync(path.join(os.tmpdir(), "pool-nobuild-"));
    expect(ensureWebPage(bare).problem).to.contain("npm run build:web");
  });
});

describe("hardhat.config.ts: networks from the environment", function () {
  this.timeout(120_000);
  it("defines --network <name> from <NAME>_RPC_URL and <NAME>_DEPLOYER_KEY, and refuses a malformed key by name", async () => {
    const { networksFromEnv } = await import("../hardhat.config");
    const key = "0x" + "11".repeat(32);
    const nets = networksFromEnv({ SEPOLIA_RPC_URL: "https://rpc.example/sepolia", SEPOLIA_DEPLOYER_KEY: key, HOLESKY_RPC_URL: "http://10.0.0.1:8545", POOL_EVM_RPC_URL: "http://x", EVM_RPC_URL: "http://127.0.0.1:9545", BLANK_RPC_URL: " " });
    expect(Object.keys(nets).sort()).to.deep.equal(["holesky", "localhost", "sepolia"]);
    expect(nets.sepolia).to.deep.equal({ url: "https://rpc.example/sepolia", urlVariable: "SEPOLIA_RPC_URL", accounts: [key] });
    expect(nets.holesky).to.deep.equal({ url: "http://10.0.0.1:8545", urlVariable: "HOLESKY_RPC_URL" });
    expect(nets.localhost.url).to.equal("http://127.0.0.1:9545");
    expect(nets.sepolia, "no chain id pinned: it is read from the node").to.not.have.property("chainId");
    expect(() => networksFromEnv({ SEPOLIA_RPC_URL: "https://x", SEPOLIA_DEPLOYER_KEY: "0x12" })).to.throw("SEPOLIA_DEPLOYER_KEY");
  });

  it("a dead node is one line naming the variable, exit code 1", async () => {
    const { execFile } = await import("node:child_process");
    const path = await import("node:path");
    const root = path.join(__dirname, "..");
    const r = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(path.join(root, "node_modules", ".bin", "hardhat"), ["run", "--network", "sepolia", "scripts/status.ts"], { cwd: root, env: { ...process.env, SEPOLIA_RPC_URL: "http://127.0.0.1:1" } }, (err, _out, stderr) =>
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
      ),
    );
    expect(r.code).to.equal(1);
    expect(r.stderr.trim().split("\n")).to.have.length(1);
    expect(r.stderr).to.contain("network sepolia: no EVM node answers at http://127.0.0.1:1 (SEPOLIA_RPC_URL)");
  });
});
