import { Component, type ComponentChildren } from "preact";
import { describeError } from "../errors";

interface State {
  error: unknown;
}

/** Renders a message instead of a blank screen when anything below it throws while rendering. */
export class ErrorBoundary extends Component<{ children: ComponentChildren; resetKey?: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: unknown): State {
    return { error };
  }

  componentDidCatch(error: unknown): void {
    console.error("page error", error);
  }

  componentDidUpdate(prev: { resetKey?: string }): void {
    // navigating to another page gives that page a fresh start
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  render() {
    if (!this.state.error) return this.props.children;
    return (
      <div class="notice notice-error" role="alert" data-kind="error">
        <strong>This page hit an error.</strong> {describeError(this.state.error)}{" "}
        <button type="button" onClick={() => this.setState({ error: null })}>
          Try again
        </button>
      </div>
    );
  }
}
