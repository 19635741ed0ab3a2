import { EVENTS_URL } from "./api/client";
import type { LiveUpdate } from "./api/types";

/** How the page currently learns about changes. */
export type LiveMode = "connecting" | "events" | "polling";

type Listener = (update: LiveUpdate | null) => void;

const POLL_MS = 5000;
const listeners = new Set<Listener>();
const modeListeners = new Set<(mode: LiveMode) => void>();
let mode: LiveMode = "connecting";
let source: EventSource | null = null;
let pollTimer: ReturnType<typeof setInterval> | null = null;

function setMode(next: LiveMode): void {
  if (next === mode) return;
  mode = next;
  modeListeners.forEach((l) => l(mode));
}

function notify(update: LiveUpdate | null): void {
  listeners.forEach((l) => l(update));
}

function startPolling(): void {
  setMode("polling");
  pollTimer ??= setInterval(() => notify(null), POLL_MS);
}

function stopPolling(): void {
  if (pollTimer) clearInterval(pollTimer);
  pollTimer = null;
}

function connect(): void {
  if (source || typeof EventSource === "undefined") {
    if (!source) startPolling();
    return;
  }
  source = new EventSource(EVENTS_URL);
  source.addEventListener("open", () => {
    stopPolling();
    setMode("events");
  });
  source.addEventListener("update", (event) => {
    let update: LiveUpdate | null = null;
    try {
      update = JSON.parse((event as MessageEvent<string>).data) as LiveUpdate;
    } catch {
      // a malformed event still means "something changed"
    }
    notify(update);
  });
  // The browser retries a dropped stream by itself, but not one refused outright (CLOSED): poll
  // in the meantime, and open a new stream later in case the server comes back with events.
  source.addEventListener("error", () => {
    startPolling();
    if (source?.readyState === EventSource.CLOSED) {
      source = null;
      setTimeout(connect, 30_000);
    }
  });
}

/** Calls `listener` on every pool update (or every 5 s while server-sent events are unavailable). */
export function onLiveUpdate(listener: Listener): () => void {
  connect();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function onLiveMode(listener: (mode: LiveMode) => void): () => void {
  connect();
  modeListeners.add(listener);
  listener(mode);
  return () => modeListeners.delete(listener);
}
