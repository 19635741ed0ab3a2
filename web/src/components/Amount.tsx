import { useConfig } from "../config";
import { formatAmount } from "../format";

/** An amount of the reward asset; the exact smallest-unit value is in the tooltip and data-raw. */
export function Amount({ raw, testId }: { raw: string | bigint | undefined | null; testId?: string }) {
  const config = useConfig();
  const exact = raw === undefined || raw === null ? "" : String(raw);
  return (
    <span class="amount" title={exact && `${exact} (smallest unit)`} data-raw={exact} data-testid={testId}>
      {formatAmount(raw, config.assetDecimals, config.assetSymbol)}
    </span>
  );
}
