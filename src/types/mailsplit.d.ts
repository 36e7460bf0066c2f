// Minimal types for mailsplit (no @types package exists): the three stream classes Moat uses.
declare module 'mailsplit' {
  import { Transform } from 'node:stream';
  export class Splitter extends Transform { constructor(opts?: { ignoreEmbedded?: boolean; maxHeadSize?: number }) }
  export class Joiner extends Transform { constructor() }
  export class Rewriter extends Transform { constructor(filter: (node: unknown) => boolean) }
  export class Streamer extends Transform { constructor(filter: (node: unknown) => boolean) }
}
