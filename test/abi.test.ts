import { expect } from "chai";
import { toFunctionSignature, toEventSignature, type AbiEvent, type AbiFunction } from "viem";
import { payoutPoolArtifact } from "../src/evm/deploy";
import { payoutPoolAbi } from "../src/evm/payoutPoolAbi";

describe("the off-chain tools' PayoutPool ABI", () => {
  it("matches the compiled contract entry by entry (names, inputs, outputs, mutability)", () => {
    const compiled = payoutPoolArtifact().abi;
    for (const entry of payoutPoolAbi) {
      if (entry.type === "function") {
        const signature = toFunctionSignature(entry);
        const match = compiled.find((c): c is AbiFunction => c.type === "function" && toFunctionSignature(c) === signature);
        expect(match, `${signature} in the artifact`).to.not.equal(undefined);
        expect(match!.stateMutability, signature).to.equal(entry.stateMutability);
        expect(match!.outputs.map((o) => o.type), `${signature} outputs`).to.deep.equal(entry.outputs.map((o) => o.type));
      } else if (entry.type === "event") {
        const signature = toEventSignature(entry);
        const match = compiled.find((c): c is AbiEvent => c.type === "event" && toEventSignature(c) === signature);
        expect(match, `${signature} in the artifact`).to.not.equal(undefined);
        expect(match!.inputs.map((i) => Boolean(i.indexed)), `${signature} indexed`).to.deep.equal((entry as AbiEvent).inputs.map((i) => Boolean(i.indexed)));
      }
    }
  });
});
