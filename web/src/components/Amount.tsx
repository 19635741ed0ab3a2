import { useConfig } from "../config";
import { formatAmount, formatAmountExact } from "../format";

/**
 * An amount of the reward asset, rounded for reading; the tooltip has it to the last unit
 * ("0.00012345 tBTC = 12345 units") and data-raw the exact smallest-unit value.
 */
export function Amount({ raw, testId }: { raw: string | bigint | undefined | null; testId?: string }) {
  const config = useConfig();
  const exact = raw === undefined || raw === null ? "" : String(raw);
  return (
    <span class="amount" title={exact && formatAmountExact(exact, config.assetDecimals, config.assetSymbol)} data-raw={exact} data-testid={testId}>
      {formatAmount(raw, config.assetDecimals, config.assetSymbol)}
    </span>
  );
}
