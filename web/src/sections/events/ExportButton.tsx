/**
 * Export of the events shown (GET /api/v1/events/KIND/export, permission events.export): the current filters, as
 * CSV or JSON. The answer is streamed by the server; the console reads it as it comes and shows that it is
 * streaming (bytes and rows received so far, Stop), then hands the file to the browser under the name the server
 * gave (Content-Disposition). Each export is audited by the server.
 *
 * Hostile input: the file name comes from the server's header; only a plain name ([\w.-]) is used, else a fixed one.
 */
import { useRef, useState } from 'react';
import { Button, Dropdown, Modal, Progress, Typography, Alert } from 'antd';
import { DownloadOutlined } from '@ant-design/icons';
import { toProblem, problemText } from '../../api/client';
import type { EventKind } from './filters';

type Format = 'csv' | 'json';

interface State { format: Format; bytes: number; rows: number; running: boolean; error: string | null; file: string | null }

function fileName(disposition: string | null, kind: EventKind, format: Format): string {
  const m = /filename="([\w.-]{1,200})"/.exec(disposition ?? '');
  return m ? m[1] : `moat-${kind}-events.${format}`;
}

function countRows(chunk: Uint8Array): number {
  let n = 0;
  for (const b of chunk) if (b === 10) n++;
  return n;
}

export function ExportButton({ kind, filters }: { kind: EventKind; filters: Record<string, string> }) {
  const [state, setState] = useState<State | null>(null);
  const abort = useRef<AbortController | null>(null);

  const run = async (format: Format) => {
    const ctrl = new AbortController();
    abort.current = ctrl;
    const s: State = { format, bytes: 0, rows: 0, running: true, error: null, file: null };
    setState({ ...s });
    try {
      const q = new URLSearchParams({ ...filters, format });
      const r = await fetch(`/api/v1/events/${kind}/export?${q}`, { credentials: 'same-origin', signal: ctrl.signal });
      if (!r.ok) throw toProblem(r.status, await r.json().catch(() => null));
      const reader = r.body!.getReader();
      const chunks: Uint8Array[] = [];
      let last = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        s.bytes += value.byteLength;
        s.rows += countRows(value);
        if (Date.now() - last > 100) { last = Date.now(); setState({ ...s }); }
      }
      const name = fileName(r.headers.get('content-disposition'), kind, format);
      const url = URL.createObjectURL(new Blob(chunks as BlobPart[], { type: r.headers.get('content-type') ?? 'application/octet-stream' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setState({ ...s, running: false, file: name });
    } catch (err) {
      const stopped = ctrl.signal.aborted;
      setState({ ...s, running: false, error: stopped ? 'Export stopped: nothing was saved.' : problemText(err) });
    }
  };

  // CSV has a header line; JSON is one array with one event a line or all on one line: count lines as a hint only.
  const rowsText = (x: State) => (x.format === 'csv' ? `${Math.max(0, x.rows - 1)} rows` : `${(x.bytes / 1024).toFixed(1)} KB`);

  return (
    <>
      <Dropdown trigger={['click']} menu={{ items: [{ key: 'csv', label: 'CSV (spreadsheet)' }, { key: 'json', label: 'JSON' }], onClick: ({ key }) => void run(key as Format) }}>
        <Button icon={<DownloadOutlined />} aria-haspopup="menu">Export</Button>
      </Dropdown>
      {state && (
        <Modal open title={`Export ${kind} events as ${state.format.toUpperCase()}`} closable={!state.running} maskClosable={false}
          onCancel={() => setState(null)}
          footer={state.running
            ? <Button onClick={() => abort.current?.abort()}>Stop</Button>
            : <Button type="primary" onClick={() => setState(null)}>Close</Button>}>
          <Progress percent={100} showInfo={false} status={state.error ? 'exception' : state.running ? 'active' : 'success'} />
          <Typography.Paragraph role="status" aria-live="polite">
            {state.running ? `Streaming from the server: ${rowsText(state)} so far (${(state.bytes / 1024).toFixed(1)} KB)…`
              : state.file ? `Saved ${state.file}: ${rowsText(state)}, ${(state.bytes / 1024).toFixed(1)} KB.` : null}
          </Typography.Paragraph>
          {state.error && <Alert type="error" title={state.error} />}
          <Typography.Text type="secondary">With the filters shown above the table. Each export is recorded in the audit trail.</Typography.Text>
        </Modal>
      )}
    </>
  );
}
