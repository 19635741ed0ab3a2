import { useEffect, useState } from "preact/hooks";
import { addressProblem } from "../address";

/** An address box; `onSubmit` gets a valid address, anything else shows why it was refused. */
export function AddressForm({ initial, onSubmit, button, testId }: { initial?: string; onSubmit: (address: string) => void; button: string; testId?: string }) {
  const [text, setText] = useState(initial ?? "");
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => setText(initial ?? ""), [initial]);
  return (
    <form
      class="address-form"
      data-testid={testId}
      onSubmit={(e) => {
        e.preventDefault();
        const value = text.trim();
        const why = addressProblem(value);
        setProblem(why);
        if (!why) onSubmit(value);
      }}
    >
      <input
        type="text"
        name="address"
        placeholder="0x… payout address"
        spellcheck={false}
        autocomplete="off"
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
        aria-invalid={problem ? "true" : undefined}
      />
      <button type="submit">{button}</button>
      {problem && (
        <div class="notice notice-error" role="alert" data-kind="error">
          {problem}
        </div>
      )}
    </form>
  );
}
