/**
 * The pool refuses, at start, a PayoutPool whose challenge window is below the safe minimum on a
 * chain that is not a local development chain (the contract itself only refuses 0): a separate anvil
 * node with a public chain id (Sepolia's), a contract deployed there with a 60 s window.
 */
import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { zeroAddress } from "viem";
import { ConfigError } from "../src/config";
import { connectEvm, hardhatDevKey } from "../src/evm/clients";
import { deployPayoutPool } from "../src/evm/deploy";
import { anvilBinary } from "../src/evm/embedded";
import { checkPayoutPool, SAFE_MIN_CHALLENGE_WINDOW } from "../src/evm/preflight";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("preflight: the challenge window off local chains", function () {
  this.timeout(60_000);
  let node: ChildProcess | undefined;
  after(() => node?.kill("SIGKILL"));

  it("refuses a 60 s window on chain 11155111, naming the setting; accepts 3600 s", async function () {
    const bin = anvilBinary();
    if (!bin) {
      console.log("      skipped: no anvil binary for this platform (@foundry-rs/anvil-linux-amd64)");
      this.skip();
    }
    const port = await freePort();
    node = spawn(bin!, ["--host", "127.0.0.1", "--port", String(port), "--chain-id", "11155111", "--silent"], { stdio: "ignore" });
    const url = `http://127.0.0.1:${port}`;
    let evm;
    for (let i = 0; ; i++) {
      try {
        evm = await connectEvm(url, hardhatDevKey(0));
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const me = evm.account!.address;
    const params = { token: zeroAddress, admin: me, operator: me, guardian: me, maxPause: 600 };
    const short = await deployPayoutPool(evm, { ...params, challengeWindow: 60 });
    const err = await checkPayoutPool(evm.publicClient, short.address, "evm.deployment").then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as Error).message).to.contain("evm.deployment").and.to.contain(`challenge window of 60 s, below the safe minimum of ${SAFE_MIN_CHALLENGE_WINDOW} s`).and.to.contain("chain 11155111");
    const safe = await deployPayoutPool(evm, { ...params, challengeWindow: SAFE_MIN_CHALLENGE_WINDOW });
    expect((await checkPayoutPool(evm.publicClient, safe.address)).challengeWindow).to.equal(SAFE_MIN_CHALLENGE_WINDOW);
  });
});
