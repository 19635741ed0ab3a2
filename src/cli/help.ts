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

export const START_HELP = `pool start [--config FILE] [--log-format auto|pretty|json] [--role all|stratum|committer|api]

Runs the pool. With no configuration: the embedded default (an in-process EVM on 127.0.0.1:8545
with PayoutPool deployed, an embedded SHA256d chain, SQLite in ./data, Stratum on 127.0.0.1:3333,
the HTTP API and web page on 127.0.0.1:8080). A JSON config file and POOL_* environment variables
select a real bitcoind, EVM RPC, deployed contract and keys (see README "Operator").

  --config FILE        JSON configuration (settings as in src/config/index.ts)
  --role ROLE          all (default: everything in this process), stratum (a front end), committer
                       (a candidate for committer and payout relay, elected through PostgreSQL; an
                       "all" process on PostgreSQL is a candidate too) or api (nothing but the API
                       and page, which every role serves); roles other than all need
                       store.postgresUrl, chain.bitcoindUrl and evm.rpcUrl (docs/deployment.md)
  --log-format FORMAT  pretty (for a person), json (for a collector) or auto (pretty on a terminal);
                       also log.format / POOL_LOG_FORMAT, and the level POOL_LOG_LEVEL`;

export const AUDIT_HELP = `pool audit --epoch N --rpc URL --contract C [--api URL | --dir D] [--bitcoind URL | --headers F] [--skip-work]

Recomputes epoch N from its published files and checks it against what the operator cannot
forge: every share's own bytes (proof of work, the address and difficulty its coinbase commits
to), the proof-of-work chain (previous block, nbits, height, ntime, payout script of every share;
every block of the epoch in the chain, its reward = its coinbase's output to the pool) and the
contract (the roots, totals and data hashes of epochs N and N-1). Then the PPLNS allocation, the
ledger, the tree, contiguous share ids, shares identical across epochs, announced fee changes.
Exits 0 when everything holds, 1 with every finding otherwise.

  --epoch N                    epoch number
  --rpc URL                    EVM JSON-RPC endpoint
  --contract C                 PayoutPool address
  (files, default)             fetched from the uri the contract's RootProposed names (and N-1's)
  --api URL                    the pool's HTTP API instead (/api/epochs/N, …, /api/chain/headers)
  --dir D                      a local folder holding the epoch files (e.g. data/epochs)
  --bitcoind URL               your own node (with --bitcoind-user U --bitcoind-password-env VAR,
                               or --bitcoind-cookie F); default: the published header chain
                               (headers.txt next to the epoch file), whose work is checked
  --headers F|URL              a header chain file to use instead
  --payout-script HEX          the pool's coinbase output script (default: the file's)
  --skip-work                  skip the proof-of-work re-check (faster; allocations are still recomputed)`;

export const WATCH_HELP = `pool watch --rpc URL --contract C [--bitcoind URL | --headers F] [--guardian-key-env VAR] [--metrics-port P] [--webhook URL]

A watchtower: follows the contract's proposed roots, fetches each epoch's files from the uri on
chain, runs the full audit (as pool audit) and, when it fails, revokes the root with the guardian
key before its challenge window ends; without a key it raises the alarm (log line, metric,
webhook). Needs no access to the pool's machine; restart-safe (it audits whatever is pending).

  --rpc URL                 EVM JSON-RPC endpoint
  --contract C              PayoutPool address
  --bitcoind URL            your own node (--bitcoind-user, --bitcoind-password-env, --bitcoind-cookie);
                            default: the header chain published next to the epoch files
  --headers F|URL           a header chain file to use instead
  --payout-script HEX       the pool's coinbase output script (default: the epoch file's)
  --guardian-key-env VAR    environment variable holding the guardian's private key (to revoke)
  --metrics-port P          serve Prometheus metrics on 127.0.0.1:P/metrics
  --webhook URL             POST a JSON report of every failed audit there
  --poll-seconds S          how often to read the contract (default 5)
  --work-dir D              where downloaded files go (default: a temporary folder)`;

export const REBUILD_HELP = `pool rebuild-epoch [--config FILE]

After the guardian revoked a pending root, the pool stops building epochs until the operator says
so. This command clears the revoked epoch's mark (its ledger changes were already rolled back) so
that the running or next-started pool rebuilds it from the share store and proposes it again.

  --config FILE   the same JSON configuration the pool runs with`;

export const SIMULATE_HELP = `pool simulate --hashrate H [--pool-hashrate P | --api URL] [--difficulty D] [--scheme pplns,pps,fpps,solo] [--period 30d] [--json]

What each payout scheme means for a miner's income: simulates block discovery and share arrivals
(seeded, reproducible, on a worker thread) and prints, per scheme, the mean, standard deviation,
5th/50th/95th percentiles and probability of earning nothing over the period, beside the closed
forms, and for PPS/FPPS the operator reserve that stays solvent with probability 1 - epsilon.
The model and its sources: docs/schemes.md.

  --hashrate H        the miner's hash rate, e.g. 1.2TH/s, 500GH/s, 3e12
  --pool-hashrate P   the pool's hash rate including the miner (default with --api: the pool's + H)
  --api URL           a running pool's API: pool hash rate, network difficulty, fee and window factor
  --difficulty D      network difficulty (default with --api: the pool's chain)
  --subsidy BTC       block subsidy (default 3.125)
  --fees BTC          average fees per block (default 0.02)
  --fee-bps N         operator fee in basis points (default with --api: the pool's, else 100)
  --window X          PPLNS window factor, N = X × D (default with --api: the pool's, else 2)
  --share-seconds S   one share per S seconds sets the miner's share difficulty (default 10)
  --scheme LIST       comma-separated: pplns, pps, fpps, solo (default all four)
  --period T          1d, 7d, 30d, 12h… (default 30d)
  --runs N            simulated periods (default 2000)
  --seed N            random seed (default 1): the same seed gives the same figures
  --epsilon E         operator ruin probability for the reserve (default 0.01)
  --json              print the whole result (figures, histograms, curves) as JSON`;
