import { render } from "preact";
import { App } from "./app";
import { ErrorBoundary } from "./components/ErrorBoundary";
import "./styles.css";

const root = document.getElementById("app")!;
root.textContent = ""; // the static "Loading…" placeholder
try {
  render(
    <ErrorBoundary>
      <App />
    </ErrorBoundary>,
    root,
  );
} catch (error) {
  root.textContent = `The page failed to start: ${(error as Error).message}`;
}
