import { formatUnits } from "viem";

/**
 * An amount in the asset's smallest unit, as a human number with its symbol: 8 decimals for
 * amounts of a unit or more, 6 significant digits below one (embedded-chain rewards are tiny).
 */
export function formatAmount(raw: string | bigint | undefined | null, decimals: number, symbol: string): string {
  if (raw === undefined || raw === null || raw === "") return "—";
  let value: bigint;
  try {
    value = typeof raw === "bigint" ? raw : BigInt(raw);
  } catch {
    return String(raw);
  }
  const [whole, frac = ""] = formatUnits(value, decimals).split(".");
  const keep = whole === "0" ? Math.min(frac.length, frac.search(/[1-9]/) + 6) : 8;
  const shown = frac.slice(0, Math.max(0, keep)).replace(/0+$/, "");
  const approx = /[1-9]/.test(frac.slice(shown.length)) ? "≈ " : "";
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${approx}${grouped}${shown ? "." + shown : ""} ${symbol}`;
}

/** Every digit: "0.00012345 tBTC = 12345 units" (the tooltip of a rounded amount). */
export function formatAmountExact(raw: string | bigint, decimals: number, symbol: string): string {
  let value: bigint;
  try {
    value = typeof raw === "bigint" ? raw : BigInt(raw);
  } catch {
    return String(raw);
  }
  return `${formatUnits(value, decimals)} ${symbol} = ${value.toString()} unit${value === 1n ? "" : "s"}`;
}

const RATE_UNITS = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];

export function formatHashrate(hps: number | undefined | null): string {
  if (hps === undefined || hps === null || !Number.isFinite(hps)) return "—";
  let value = hps;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < RATE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value >= 100 || value === 0 ? 0 : 2)} ${RATE_UNITS[unit]}`;
}

/** 0x1234…abcd */
export function shortHex(hex: string | undefined | null, keep = 6): string {
  if (!hex) return "—";
  return hex.length > 2 + keep * 2 ? `${hex.slice(0, 2 + keep)}…${hex.slice(-keep)}` : hex;
}

export function formatTime(ms: number | undefined | null): string {
  if (!ms) return "—";
  return new Date(ms).toLocaleString();
}

export function timeAgo(ms: number | undefined | null, now = Date.now()): string {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** 90061 → "1 d 01:01:01" */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, "0")).join(":");
  return d > 0 ? `${d} d ${hms}` : hms;
}

export function formatNumber(n: number | string | undefined | null): string {
  if (n === undefined || n === null) return "—";
  const v = typeof n === "number" ? n : Number(n);
  return Number.isFinite(v) ? v.toLocaleString(undefined, { maximumFractionDigits: 6 }) : String(n);
}
