// Catches a section's rendering error so the shell (menu, sign-out) keeps working; shows the error in words.
import { Component, type ReactNode } from 'react';
import { Alert, Button } from 'antd';

export class ErrorBoundary extends Component<{ children: ReactNode }, { error: Error | null }> {
  state: { error: Error | null } = { error: null };
  static getDerivedStateFromError(error: Error) { return { error }; }
  render() {
    if (!this.state.error) return this.props.children;
    return (
      <Alert type="error" showIcon title="This page failed to show" description={this.state.error.message}
        action={<Button onClick={() => this.setState({ error: null })}>Try again</Button>} />
    );
  }
}
