/**
 * Shows a message's (already sanitised) HTML without letting it act in the console: an iframe with
 * `sandbox=""` (no allow-scripts, no allow-same-origin: an opaque origin that can run nothing, submit nothing,
 * navigate nothing) whose srcdoc carries its own Content-Security-Policy: nothing loads but data: images and
 * inline styles. The HTML is hostile even after the server's sanitising; this is the second wall, not the first.
 */
export const MESSAGE_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

/** The srcdoc document around the message HTML. */
export function frameDocument(html: string): string {
  return '<!doctype html><html><head><meta charset="utf-8">'
    + `<meta http-equiv="Content-Security-Policy" content="${MESSAGE_CSP}">`
    + '<style>body{font:14px/1.5 system-ui,sans-serif;margin:12px;color:#0f172a;word-wrap:break-word}img{max-width:100%;height:auto}</style>'
    + `</head><body>${html}</body></html>`;
}

export function SafeHtmlFrame({ html, title }: { html: string; title: string }) {
  return (
    <iframe
      className="message-frame"
      title={title}
      sandbox=""
      referrerPolicy="no-referrer"
      srcDoc={frameDocument(html)}
      data-testid="message-html"
    />
  );
}
