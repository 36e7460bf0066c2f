/**
 * Long operations show progress: `const runner = useProgressRunner();`
 * `await runner.run('Deleting 120 messages', items, (item) => call(api.DELETE(...)))` opens a dialog with a
 * progress bar, the count done, the failures in words (the operation goes on after a failure), and Stop. It
 * resolves with the outcome once all items are done or the user stopped it.
 */
import { useCallback, useRef, useState, type ReactNode } from 'react';
import { Alert, Button, Modal, Progress, Typography } from 'antd';
import { problemText } from '../api/client';

export interface RunOutcome { done: number; failed: { index: number; message: string }[]; stopped: boolean }

interface State { title: string; total: number; done: number; failed: { index: number; message: string }[]; running: boolean }

export function useProgressRunner(): { run<T>(title: string, items: readonly T[], fn: (item: T, index: number) => Promise<unknown>): Promise<RunOutcome>; dialog: ReactNode } {
  const [state, setState] = useState<State | null>(null);
  const stop = useRef(false);
  const run = useCallback(async <T,>(title: string, items: readonly T[], fn: (item: T, index: number) => Promise<unknown>): Promise<RunOutcome> => {
    stop.current = false;
    const failed: { index: number; message: string }[] = [];
    let done = 0;
    setState({ title, total: items.length, done: 0, failed: [], running: true });
    for (let i = 0; i < items.length && !stop.current; i++) {
      try { await fn(items[i], i); } catch (e) { failed.push({ index: i, message: problemText(e) }); }
      done++;
      setState({ title, total: items.length, done, failed: [...failed], running: true });
    }
    setState({ title, total: items.length, done, failed: [...failed], running: false });
    if (failed.length === 0) setTimeout(() => setState((s) => (s && !s.running ? null : s)), 800);
    return { done, failed, stopped: stop.current };
  }, []);
  const dialog = state && (
    <Modal open title={state.title} closable={!state.running} maskClosable={false} onCancel={() => setState(null)}
      footer={state.running ? <Button onClick={() => { stop.current = true; }}>Stop</Button> : <Button type="primary" onClick={() => setState(null)}>Close</Button>}>
      <Progress percent={state.total ? Math.round((state.done / state.total) * 100) : 100} status={state.failed.length ? 'exception' : state.running ? 'active' : 'success'} />
      <Typography.Text type="secondary">{state.done} of {state.total} done{state.failed.length ? `, ${state.failed.length} failed` : ''}</Typography.Text>
      {state.failed.slice(0, 5).map((f) => <Alert key={f.index} type="error" title={f.message} style={{ marginTop: 8 }} />)}
    </Modal>
  );
  return { run, dialog };
}
