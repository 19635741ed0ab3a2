import { useState } from "preact/hooks";

/** Copies `text`; falls back to selecting it when the clipboard API is unavailable (plain http). */
export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState<"" | "copied" | "failed">("");
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone("copied");
    } catch {
      setDone("failed");
    }
    setTimeout(() => setDone(""), 2000);
  };
  return (
    <button type="button" class="copy" onClick={copy} title={`Copy ${text}`}>
      {done === "copied" ? "Copied ✓" : done === "failed" ? "Select and copy it" : label}
    </button>
  );
}

/** A line of code with a copy button beside it. */
export function CopyLine({ text, testId }: { text: string; testId?: string }) {
  return (
    <div class="copyline">
      <code data-testid={testId}>{text}</code>
      <CopyButton text={text} />
    </div>
  );
}
