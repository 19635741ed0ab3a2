import { useEffect, useState } from "preact/hooks";
import { formatDuration } from "../format";

/** Time left until `until` (seconds since the epoch), ticking every second. */
export function Countdown({ until }: { until: number }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = until - now / 1000;
  if (left <= 0) return <span class="countdown ready">challenge window over: can be accepted now</span>;
  return <span class="countdown">active in {formatDuration(left)}</span>;
}
