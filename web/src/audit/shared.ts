// The auditor's checks are the pool's own modules, bundled for the browser: the epoch-file parser,
// and the tree (src/merkle) and continuity verifiers that `pool audit` runs. They use Node's
// global Buffer, which this import provides first.
import "../buffer-global";

export { parseEpochFile, type EpochFile } from "../../../src/epochs/format";
export { verifyContinuity, verifyTree } from "../../../src/epochs/verify";
