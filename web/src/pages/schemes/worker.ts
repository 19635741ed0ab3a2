/// <reference lib="webworker" />
// The page's simulation runs here, off the UI thread: the same module the CLI runs.
import type { SchemeModel } from "../../../../src/simulate/model";
import { simulate, type SimulationOptions } from "../../../../src/simulate/montecarlo";

self.onmessage = (e: MessageEvent<{ model: SchemeModel; opts: SimulationOptions }>) => {
  try {
    self.postMessage({ ok: true, result: simulate(e.data.model, e.data.opts) });
  } catch (err) {
    self.postMessage({ ok: false, error: (err as Error).message });
  }
};
