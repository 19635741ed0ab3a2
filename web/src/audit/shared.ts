// The auditor's checks are the pool's own modules, bundled for the browser: the whole audit of
// src/audit/epochaudit.ts (what `pool audit` and the watchtower run: every share's work and
// coinbase, the proof-of-work chain, PPLNS and every allocation, the tree, continuity, ids and
// gaps, duplicates, the contract's records), the published header chain's verifier, and the
// contract reader. They use Node's global Buffer, which this import provides first.
import "../buffer-global";

export { parseEpochFile, type EpochFile } from "../../../src/epochs/format";
export { verifyContinuity, verifyTree } from "../../../src/epochs/verify";
export { EpochAudit, type AuditReport as EpochAuditReport } from "../../../src/audit/epochaudit";
export { PublishedHeaderChain } from "../../../src/audit/powchain";
export { readProposals, liveProposal, type ContractLookup } from "../../../src/audit/contract";
export { createDigest, type ShareLogHash } from "../../../src/epochs/digest";
