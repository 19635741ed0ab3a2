import { CopyLine } from "../../components/CopyButton";
import { useConfig } from "../../config";

/** The Stratum URL as a miner must type it: a wildcard bind address becomes this page's host. */
export function minerFacingStratumUrl(stratumUrl: string, pageHost = location.hostname): string {
  return stratumUrl.replace(/\/\/(0\.0\.0\.0|\[::\]|::)(?=:)/, `//${pageHost}`);
}

export function ConnectMiner() {
  const config = useConfig();
  const url = minerFacingStratumUrl(config.stratumUrl);
  return (
    <section class="card" id="connect">
      <h2>Point a miner at the pool</h2>
      <p>
        Use your EVM payout address as the user name (a worker name after a dot is optional); the password is ignored. Any Stratum V1
        SHA-256d miner works: cpuminer, cgminer, Bitaxe, Antminer.
      </p>
      <label>Stratum URL</label>
      <CopyLine text={url} testId="stratum-url" />
      <label>Example (cpuminer)</label>
      <CopyLine text={`cpuminer -a sha256d -o ${url} -u 0xYOURADDRESS.rig1 -p x`} testId="cpuminer-command" />
      <p class="muted">
        Rewards are paid in {config.assetSymbol} to that address on chain {config.chainId}
        {config.payoutThreshold === undefined || config.payoutThreshold === null
          ? ": this pool sends no automatic payouts, so claim them yourself (claim page or command line) whenever you like."
          : ": automatically when they pass the pool's threshold, or whenever you claim them yourself."}
      </p>
    </section>
  );
}
