/** Help texts, kept apart so `pool <command> --help` loads nothing heavy. */

export const CLAIM_HELP = `pool claim --address A [--api URL | --epoch-file F] [--rpc URL] [--contract C] [--key-env VAR] [--dry-run]

Shows what address A can claim from the pool's PayoutPool contract and claims it. The funds always
go to A, whoever sends the transaction (and pays its gas).

  --address A      the payout address (0x…)
  --api URL        the pool's HTTP API, e.g. http://127.0.0.1:8080 (proof from /api/proof/A)
  --epoch-file F   a published epoch file instead of the API (the tree is rebuilt locally)
  --rpc URL        EVM JSON-RPC endpoint (default: the API's, or http://127.0.0.1:8545)
  --contract C     PayoutPool address (default: from the API or the epoch file)
  --key-env VAR    name of the environment variable holding the sender's private key
  --dry-run        only show the claimable amount`;

export const START_HELP = `pool start [--config FILE]

Runs the pool. With no configuration: the embedded default (an in-process EVM on 127.0.0.1:8545
with PayoutPool deployed, an embedded SHA256d chain, SQLite in ./data, Stratum on 127.0.0.1:3333,
the HTTP API and web page on 127.0.0.1:8080). A JSON config file and POOL_* environment variables
select a real bitcoind, EVM RPC, deployed contract and keys (see README "Operator").

  --config FILE   JSON configuration (settings as in src/config/index.ts)`;

export const AUDIT_HELP = `pool audit --epoch N [--api URL | --dir D] --rpc URL --contract C [--skip-work]

Recomputes epoch N from its published files and compares it with the chain: the epoch file's
digest, the share log's digest, every share's proof of work and the address its coinbase pays,
the PPLNS allocation of every block, the cumulative ledger (no amount may decrease from epoch N-1),
the Merkle tree and root, and the root, total and data hash the contract holds for epoch N.
Exits 0 when everything matches, 1 with a report of every mismatch otherwise.

  --epoch N      epoch number
  --api URL      the pool's HTTP API (downloads /api/epochs/N, /api/epochs/N/shares, /api/epochs/N-1)
  --dir D        a directory holding epoch-NNNNNN.json and epoch-NNNNNN.shares.jsonl (e.g. data/epochs)
  --rpc URL      EVM JSON-RPC endpoint
  --contract C   PayoutPool address
  --skip-work    skip the proof-of-work re-check (faster; allocations are still recomputed)`;

export const REBUILD_HELP = `pool rebuild-epoch [--config FILE]

After the guardian revoked a pending root, the pool stops building epochs until the operator says
so. This command clears the revoked epoch's mark (its ledger changes were already rolled back) so
that the running or next-started pool rebuilds it from the share store and proposes it again.

  --config FILE   the same JSON configuration the pool runs with`;
