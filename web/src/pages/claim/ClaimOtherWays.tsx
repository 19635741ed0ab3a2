import { Amount } from "../../components/Amount";
import { CopyLine } from "../../components/CopyButton";
import { useConfig } from "../../config";

/** The two ways to get paid without this page. */
export function ClaimOtherWays({ address }: { address?: string }) {
  const api = location.origin;
  const { payoutThreshold } = useConfig();
  return (
    <section class="card">
      <h2>Other ways to get paid</h2>
      {payoutThreshold === undefined || payoutThreshold === null ? (
        <p data-testid="automatic-payouts-off">
          <strong>Automatic payouts are off on this pool:</strong> nothing is sent to you unless you (or anyone) claim it, here or from
          the command line. What is allocated to you stays claimable on the contract however long you wait.
        </p>
      ) : (
        <p data-testid="automatic-payouts-on">
          <strong>Automatically:</strong> after each root becomes active, the pool sends the claim itself (paying the gas) for every
          address whose claimable amount reaches its payout threshold (<Amount raw={payoutThreshold} />). Smaller amounts wait until
          you claim them, or until they grow past the threshold.
        </p>
      )}
      <p>
        <strong>From the command line</strong> (the key pays the gas; the funds go to the address):
      </p>
      <CopyLine text={`npx pool claim --address ${address ?? "0xYOURADDRESS"} --api ${api} --key-env CLAIM_KEY`} />
    </section>
  );
}
