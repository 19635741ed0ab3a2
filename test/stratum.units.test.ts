import { expect } from "chai";
import { parseAddress, parseUsername } from "../src/stratum/address";
import { BanList, DEFAULT_BAN_SETTINGS } from "../src/stratum/bans";
import { checkDifficulty, resolveConfig } from "../src/stratum/config";
import { ExtranonceAllocator } from "../src/stratum/extranonce";
import { LineFramer } from "../src/stratum/framing";
import { StratumMetrics } from "../src/stratum/metrics";
import { errorLine, parseRequest, setDifficultyLine } from "../src/stratum/rpc";
import { DEFAULT_VARDIFF, proposeDifficulty, VardiffState } from "../src/stratum/vardiff";

describe("stratum: building blocks", function () {
  it("frames lines across chunks, strips CR, and refuses over-long lines", () => {
    const f = new LineFramer(10);
    const lines: string[] = [];
    const h = { onLine: (l: string) => lines.push(l) };
    expect(f.push(Buffer.from('{"a"'), h)).to.equal(true);
    expect(f.push(Buffer.from(':1}\r\n\n{"b":2}\n{"c'), h)).to.equal(true);
    expect(lines).to.deep.equal(['{"a":1}', '{"b":2}']);
    expect(f.buffered).to.equal(3);
    expect(f.push(Buffer.from("x".repeat(20)), h)).to.equal(false);
    expect(new LineFramer(10).push(Buffer.from("y".repeat(11) + "\n"), h)).to.equal(false);
  });

  it("parses requests and writes Stratum's reply shapes", () => {
    expect(parseRequest('{"id":3,"method":"mining.subscribe","params":["a"]}')).to.deep.equal({ id: 3, method: "mining.subscribe", params: ["a"] });
    expect(parseRequest('{"id":3,"method":"m"}')).to.deep.equal({ id: 3, method: "m", params: [] });
    expect(parseRequest("nope")).to.deep.include({ malformed: true, id: null });
    expect(parseRequest("[1,2]")).to.deep.include({ malformed: true });
    expect(parseRequest('{"id":1,"result":true,"error":null}')).to.deep.include({ error: "missing method", malformed: false });
    expect(parseRequest('{"id":{"x":1},"method":"m","params":{}}')).to.deep.include({ error: "params must be an array", id: null });
    expect(JSON.parse(errorLine(7, 23, 'low "difficulty"'))).to.deep.equal({ id: 7, result: null, error: [23, 'low "difficulty"', null] });
    expect(JSON.parse(setDifficultyLine("0.000002")).params[0]).to.equal(0.000002);
  });

  it("validates payout addresses: checksummed or single-case, with reasons", () => {
    expect(parseAddress("0x52908400098527886E0F7030069857D2E4169EE7")).to.equal("0x52908400098527886e0f7030069857d2e4169ee7");
    expect(parseAddress("0xDE709F2102306220921060314715629080E2FB77")).to.equal("0xde709f2102306220921060314715629080e2fb77");
    expect(() => parseAddress("0x52908400098527886E0F7030069857D2E4169Ee7")).to.throw(/checksum/);
    expect(() => parseAddress("0x5290840009852788")).to.throw(/bad length: 16/);
    expect(() => parseAddress("0xg2908400098527886E0F7030069857D2E4169EE7")).to.throw(/not hex/);
    expect(parseUsername("0x52908400098527886e0f7030069857d2e4169ee7.rig-1.a")).to.deep.equal({
      address: "0x52908400098527886e0f7030069857d2e4169ee7",
      worker: "rig-1.a",
    });
    expect(() => parseUsername("0x52908400098527886e0f7030069857d2e4169ee7.has space")).to.throw(/worker name/);
  });

  it("hands out unique extranonce1 values and resumes closed sessions by id", () => {
    const a = new ExtranonceAllocator(1); // 256 values: exhaust the space
    const seen = new Set<string>();
    for (let i = 0; i < 256; i++) seen.add(a.allocate()[0]);
    expect(seen.size).to.equal(256);
    expect(() => a.allocate()).to.throw(/exhausted/);
    const [v] = [...seen];
    a.release(v, "sid-1", 1000);
    expect(a.allocate("sid-1", 2000)).to.deep.equal([v, true]);
    const b = new ExtranonceAllocator(4, 1000);
    const [x] = b.allocate(undefined, 0);
    b.release(x, "old", 0);
    expect(b.allocate("old", 5000)[1]).to.equal(false); // expired
    expect(new ExtranonceAllocator(8).allocate()[0]).to.match(/^[0-9a-f]{16}$/);
  });

  it("vardiff: raises for fast miners, lowers for slow or silent ones, within ±30 % does nothing, clamps to ×4 and bounds", () => {
    const s = { ...DEFAULT_VARDIFF, targetShareSeconds: 10, retargetShares: 10, retargetSeconds: 60 };
    const st = new VardiffState(0);
    st.shares = 10;
    // 10 shares in 10 s = 1 s/share, 10x too fast: ×4 at most.
    expect(proposeDifficulty(s, st, 1, 0.001, 1000, 10_000, false)).to.equal(4);
    st.reset(0);
    st.shares = 10;
    // 10 shares in 120 s: 12 s/share, within 30 %.
    expect(proposeDifficulty(s, st, 1, 0.001, 1000, 120_000, false)).to.equal(null);
    st.reset(0);
    st.shares = 10;
    // 10 shares in 200 s: 20 s/share, halve.
    expect(proposeDifficulty(s, st, 1, 0.001, 1000, 200_000, false)).to.be.closeTo(0.5, 1e-9);
    st.reset(0);
    // No share for 60 s: lower gently (×0.25 at most).
    expect(proposeDifficulty(s, st, 1, 0.001, 1000, 60_000, true)).to.equal(0.25);
    st.reset(0);
    expect(proposeDifficulty(s, st, 1, 0.5, 1000, 60_000, true)).to.equal(0.5); // min bound
    st.reset(0);
    st.shares = 3;
    expect(proposeDifficulty(s, st, 1, 0.001, 1000, 5_000, false)).to.equal(null); // too early
    st.shares = 100;
    expect(proposeDifficulty(s, st, 900, 0.001, 1000, 5_000, false)).to.equal(1000); // max bound
  });

  it("bans an address after maxOffencesPerAddress within the window, and the ban expires", () => {
    const b = new BanList({ ...DEFAULT_BAN_SETTINGS, maxOffencesPerAddress: 3, windowMs: 1000, banMs: 5000 });
    expect(b.strike("1.2.3.4", 1, 0)).to.equal(false);
    expect(b.strike("1.2.3.4", 1, 2000)).to.equal(false); // new window
    expect(b.strike("1.2.3.4", 1, 2100)).to.equal(false);
    expect(b.strike("1.2.3.4", 1, 2200)).to.equal(true);
    expect(b.isBanned("1.2.3.4", 3000)).to.equal(true);
    expect(b.isBanned("1.2.3.4", 7300)).to.equal(false);
    const off = new BanList({ ...DEFAULT_BAN_SETTINGS, enabled: false, maxOffencesPerAddress: 1 });
    expect(off.strike("x")).to.equal(false);
  });

  it("estimates hash rate per address as difficulty × 2^32 per second over the window", () => {
    const m = new StratumMetrics(600, 10);
    const t0 = 1_000_000_000;
    for (let i = 0; i < 600; i++) m.accept("0xa", 1, t0 + i * 1000);
    // 600 shares of difficulty 1 in 600 s = 2^32 H/s.
    expect(m.hashrate("0xa", t0 + 600_000) / 2 ** 32).to.be.closeTo(1, 0.03);
    expect(m.hashrate("0xa", t0 + 2_000_000)).to.equal(0);
    m.reject("duplicate");
    expect(m.snapshot().rejected).to.deep.equal({ duplicate: 1 });
  });

  it("checks configured difficulties and sizes", () => {
    expect(checkDifficulty("x", "0.001")).to.equal("0.001");
    expect(() => checkDifficulty("x", ".5")).to.throw(/decimal number/);
    expect(() => checkDifficulty("x", "0")).to.throw();
    expect(() => resolveConfig({ extranonce2Size: 0 })).to.throw(/extranonce2Size/);
    expect(() => resolveConfig({ minDifficulty: "10", maxDifficulty: "1" })).to.throw(/above/);
    expect(resolveConfig({ vardiff: { targetShareSeconds: 5 } }).vardiff.retargetShares).to.equal(DEFAULT_VARDIFF.retargetShares);
  });
});
