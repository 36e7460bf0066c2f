/**
 * The anti-phishing module (`antiphishing`, SPEC §3.4): explainable signals (signals.ts) over one message model,
 * summed into a score; `phishing` when the score reaches the threshold, else `clean`. Sources:
 *   - a phishing URL/domain database (injected: the links module's URL database), for every URL of the bodies
 *     and for the From and Reply-To domains;
 *   - look-alike domains (lookalike.ts) of the protected domains (local domains, extra protected domains, the
 *     brands of data/antiphishing/brands.txt) among link hosts, the From domain, Reply-To and domains shown in
 *     the display name;
 *   - link text that shows one site while the link goes to another (anchors.ts);
 *   - credential-harvesting or redirecting HTML/SVG attachments (html.ts), and password forms in the body;
 *   - display-name impersonation of protected people and brands (display.ts);
 *   - Reply-To diverging from From to a free-mail or look-alike domain.
 * Status: `phishing` / `clean`; `error` when part of the message could not be examined (the database failed,
 * an attachment could not be read) and the signals seen do not reach the threshold. The runner gives `error`
 * for a throw or a missed deadline and `not_scanned` for a disabled module. A module reports; policy decides.
 *
 * Finding: one detection per signal that fired (one per signal and part for attachments), only when the status
 * is `phishing`: `name` = `<SIGNAL_ID>:<short evidence>` (printable ASCII: `HOMOGLYPH_DOMAIN_LINK:xn--pypal-4ve.com~
 * paypal.com`, `HTML_ATTACHMENT_REDIRECT:invoice.htm`), `engine` = `antiphishing`, `part` for attachments;
 * details: score, threshold, and every signal with weight, description and evidence (also below the threshold).
 *
 * Hostile input: the whole message, through the model. Bounded work: 300 URLs, 100 distinct link hosts, 200
 * links with text, 256 KiB of HTML body, 20 HTML attachments of at most `maxAttachmentBytes` each, 5 Reply-To
 * addresses; nothing here throws for message content.
 */
import { open } from 'node:fs/promises';
import { z } from 'zod';
import type { Detection, Finding, MessageModel, Part, Scanner } from '../types.ts';
import { extractUrls, type ExtractedUrl } from '../urls.ts';
import { parseAddresses } from '../antispam/heuristics.ts';
import { anchorMismatches, htmlLinks } from './anchors.ts';
import { loadBrands, type Brand } from './brands.ts';
import { BrandNameIndex, displayDomains, displayFindings, PeopleIndex } from './display.ts';
import { analyzeHtml, htmlText, PASSWORD_FIELD } from './html.ts';
import { FREEMAIL_DOMAINS, FREEMAIL_LABELS } from './lists.ts';
import { DomainGuard, registrable, toAsciiHost, type LookalikeHit, type LookalikeKind } from './lookalike.ts';
import { DEFAULT_THRESHOLD, mergeHits, score, SIGNAL_IDS, SIGNALS, type Hit, type SignalId } from './signals.ts';

/** The phishing URL database, as the links module provides it (src/scan/links/urldb.ts). */
export interface UrlLookup {
  lookup(url: ExtractedUrl): { category: string; list: string; entry: string }[];
}

export const antiphishingOptionsSchema = z.object({
  /** Score at or above which the status is `phishing`. */
  threshold: z.number().min(1).max(1000).default(DEFAULT_THRESHOLD),
  /** The organisation's own domains (look-alikes of them are suspicious; mail from them is not "outside"). */
  localDomains: z.array(z.string().max(253)).max(10_000).default([]),
  /** More domains to protect from look-alikes (partners, other own domains), each its own owner. */
  protectedDomains: z.array(z.string().max(253)).max(10_000).default([]),
  /** People whose names must not appear in display names of outside mail: name and their real addresses. */
  protectedPeople: z.array(z.object({
    name: z.string().min(1).max(200),
    addresses: z.array(z.string().max(320)).max(100).default([]),
  }).strict()).max(10_000).default([]),
  /** The brands file (default: the shipped data/antiphishing/brands.txt). */
  brandsPath: z.string().optional(),
  /** Weight overrides per signal id (0 turns a signal off). */
  weights: z.record(z.string(), z.number().min(0).max(100)).default({}),
  /** Bytes read from each HTML/SVG attachment. */
  maxAttachmentBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(2 * 1024 * 1024),
}).strict();

export type AntiphishingOptions = z.input<typeof antiphishingOptionsSchema>;
type Resolved = z.output<typeof antiphishingOptionsSchema>;

export interface AntiphishingDeps {
  /** The phishing URL database (the links module's); without it the database signal is off. */
  urlDb?: UrlLookup;
  /** Brands to use instead of loading `brandsPath`. */
  brands?: Brand[];
}

const LIMITS = { urls: 300, hosts: 100, htmlChars: 256 * 1024, attachments: 20, replyTo: 5 } as const;

type Place = 'link' | 'from' | 'reply_to' | 'display_name';
const KIND_SIGNAL: Record<Place, Partial<Record<LookalikeKind, SignalId>>> = {
  link: { homoglyph: 'HOMOGLYPH_DOMAIN_LINK', brand_lure: 'BRAND_LURE_DOMAIN_LINK', typo: 'TYPO_DOMAIN_LINK', brand: 'BRAND_IN_DOMAIN_LINK', mixed_script: 'MIXED_SCRIPT_DOMAIN' },
  from: { homoglyph: 'HOMOGLYPH_DOMAIN_FROM', brand_lure: 'BRAND_LURE_DOMAIN_FROM', typo: 'TYPO_DOMAIN_FROM', brand: 'BRAND_IN_DOMAIN_FROM', mixed_script: 'MIXED_SCRIPT_DOMAIN' },
  reply_to: { homoglyph: 'HOMOGLYPH_DOMAIN_REPLY_TO', brand_lure: 'BRAND_LURE_DOMAIN_REPLY_TO', typo: 'TYPO_DOMAIN_REPLY_TO', brand: 'BRAND_IN_DOMAIN_REPLY_TO', mixed_script: 'MIXED_SCRIPT_DOMAIN' },
  display_name: { homoglyph: 'HOMOGLYPH_DOMAIN_DISPLAY_NAME', typo: 'TYPO_DOMAIN_DISPLAY_NAME' },
};
const HTML_SIGNAL = { credential_form: 'HTML_ATTACHMENT_CREDENTIAL_FORM', redirect: 'HTML_ATTACHMENT_REDIRECT', obfuscated: 'HTML_ATTACHMENT_OBFUSCATED' } as const;
const HTML_NAME = /\.(?:html?|shtml?|xhtml?|svgz?|mht(?:ml)?)$/i;

function lookalikeEvidence(h: LookalikeHit, where: string): string {
  return `${where}${h.domain}${h.shown ? ` (${h.shown})` : ''}~${h.target}: ${h.how}`;
}

export function isFreemail(domain: string | null): boolean {
  if (!domain) return false;
  if (FREEMAIL_DOMAINS.has(domain)) return true;
  const label = domain.slice(0, domain.indexOf('.'));
  return FREEMAIL_LABELS.has(label);
}

/** A text or HTML body: unnamed, inline, declared text (the same test as the content filter's). */
function isBody(p: Part): boolean {
  return !p.isAttachment && !p.name && !p.otherNames?.length && (p.origin === 'mime' || p.origin === 'rfc822')
    && (p.declaredType === '' || p.declaredType.startsWith('text/'));
}

function isHtmlAttachment(p: Part): boolean {
  if (!p.isLeaf || !p.content || isBody(p)) return false;
  const t = p.trueType;
  if (t.category === 'html' || t.label === 'svg') return true;
  const named = [p.name, ...(p.otherNames ?? [])].some((n) => n && HTML_NAME.test(n.trim()));
  return named && (t.category === 'text' || t.category === 'other' || t.category === 'script');
}

async function readHead(content: NonNullable<Part['content']>, max: number): Promise<Buffer> {
  if (content.kind === 'buffer') return content.data.length > max ? content.data.subarray(0, max) : content.data;
  const fh = await open(content.path, 'r');
  try {
    const buf = Buffer.alloc(max);
    let got = 0;
    while (got < max) {
      const { bytesRead } = await fh.read(buf, got, max - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/**
 * A label fit for a detection name (they end up in `X-Moat-Antiphishing: phishing (A:x, B:y)` headers and
 * events): printable ASCII, without the list punctuation of that header, at most 120 characters.
 */
function asciiName(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?').replace(/[(),;]/g, ' ').replace(/\s+/g, ' ').trim();
  return t.length > 120 ? `${t.slice(0, 119)}~` : t;
}

function hostOfAddress(addr: string): string | null {
  const at = addr.lastIndexOf('@');
  if (at < 0) return null;
  let d = addr.slice(at + 1).trim();
  if (d.startsWith('[')) return null;
  d = d.replace(/[>\].\s]+$/, '');
  return toAsciiHost(d);
}

export class AntiphishingScanner implements Scanner {
  readonly module = 'antiphishing' as const;
  readonly options: Readonly<Resolved>;
  private readonly guard: DomainGuard;
  private readonly people: PeopleIndex;
  private readonly brandNames: BrandNameIndex;
  private readonly weights: Record<SignalId, number>;
  private readonly localDomains: Set<string>;
  private readonly urlDb: UrlLookup | undefined;

  constructor(options: Resolved, brands: readonly Brand[], urlDb?: UrlLookup) {
    this.options = options;
    this.urlDb = urlDb;
    this.weights = Object.fromEntries(SIGNAL_IDS.map((id) => [id, SIGNALS[id].weight])) as Record<SignalId, number>;
    for (const [id, w] of Object.entries(options.weights)) {
      if (!(id in SIGNALS)) throw new TypeError(`antiphishing: unknown signal ${JSON.stringify(id)} in weights (known: ${SIGNAL_IDS.join(', ')})`);
      this.weights[id as SignalId] = w;
    }
    this.localDomains = new Set(options.localDomains.map((d) => toAsciiHost(d)).filter((d): d is string => !!d));
    this.guard = new DomainGuard({ localDomains: [...this.localDomains], protectedDomains: options.protectedDomains, brands });
    this.people = new PeopleIndex(options.protectedPeople);
    this.brandNames = new BrandNameIndex(brands);
  }

  private isLocal(host: string | null): boolean {
    if (!host) return false;
    for (let h = host; h; ) {
      if (this.localDomains.has(h)) return true;
      const dot = h.indexOf('.');
      if (dot < 0) break;
      h = h.slice(dot + 1);
    }
    return false;
  }

  async scan(model: MessageModel, signal: AbortSignal): Promise<Finding> {
    signal.throwIfAborted();
    return this.check(model, signal);
  }

  /** The finding for one message (scan() without the abort check at entry). */
  async check(model: MessageModel, signal?: AbortSignal): Promise<Finding> {
    const hits: Hit[] = [];
    const errors: string[] = [];
    const guard = this.guard;
    const lookalike = (host: string, place: Place, where: string) => {
      const h = guard.check(host);
      const id = h && KIND_SIGNAL[place][h.kind];
      if (h && id) hits.push({ id, evidence: lookalikeEvidence(h, where), label: `${h.domain}~${h.target}`, domain: h.domain });
    };
    const dbLookup = (u: ExtractedUrl, where: string) => {
      if (!this.urlDb) return;
      try {
        for (const r of this.urlDb.lookup(u)) {
          if (r.category === 'phishing') { hits.push({ id: 'URL_DB_PHISHING', evidence: `${where}${u.url.slice(0, 100)} (${r.list}: ${r.entry})`, label: r.entry }); break; }
        }
      } catch (e) {
        const msg = `url database: ${(e as Error).message}`;
        if (errors.length < 5 && !errors.includes(msg)) errors.push(msg);
      }
    };

    // From, Sender, envelope.
    const fromValue = model.from || model.headers.find((h) => h.name === 'from')?.value || '';
    const from = parseAddresses(fromValue.slice(0, 4096))[0];
    const fromAddr = (from?.addr ?? '').trim().toLowerCase();
    const fromHost = hostOfAddress(fromAddr);
    const fromDomain = fromHost ? registrable(fromHost) : null;
    const senderDomains = new Set<string>();
    if (fromDomain) senderDomains.add(fromDomain);
    for (const a of [model.envelope.sender, ...model.headers.filter((h) => h.name === 'sender').slice(0, 2).flatMap((h) => parseAddresses(h.value.slice(0, 1024)).map((x) => x.addr))]) {
      const h = a ? hostOfAddress(a) : null;
      const d = h && registrable(h);
      if (d) senderDomains.add(d);
    }
    const fromFree = isFreemail(fromDomain);
    const fromLocal = this.isLocal(fromHost);
    if (fromHost) {
      lookalike(fromHost, 'from', 'From ');
      dbLookup({ url: `http://${fromHost}/`, host: fromHost, domain: fromDomain, source: 'text', count: 1 }, 'From ');
    }
    if (from?.name) {
      for (const f of displayFindings({ display: from.name, address: fromAddr, domain: fromDomain, local: fromLocal, freemail: fromFree }, this.people, this.brandNames, guard)) {
        hits.push({ id: f.id, evidence: f.evidence, label: f.label });
      }
      for (const host of displayDomains(from.name)) lookalike(host, 'display_name', 'display name ');
    }

    // Reply-To.
    const replyTo = model.headers.filter((h) => h.name === 'reply-to').slice(0, 2).flatMap((h) => parseAddresses(h.value.slice(0, 4096))).slice(0, LIMITS.replyTo);
    let fromGuard: DomainGuard | null = null;
    for (const r of replyTo) {
      const host = hostOfAddress(r.addr.toLowerCase());
      const d = host && registrable(host);
      if (!host || !d || d === fromDomain) continue;
      if (isFreemail(d) && fromDomain && !fromFree) hits.push({ id: 'REPLY_TO_FREEMAIL', evidence: `${d} (From ${fromDomain})`, label: d });
      lookalike(host, 'reply_to', 'Reply-To ');
      if (fromDomain && !fromFree) {
        fromGuard ??= new DomainGuard({ protectedDomains: [fromDomain] });
        const h = fromGuard.check(host);
        const id = h && KIND_SIGNAL.reply_to[h.kind];
        // Only misspellings of the From domain itself (a helpdesk at `company-support.example` or the same name
        // under another suffix is how organisations work).
        if (h && id && (h.kind === 'homoglyph' || h.kind === 'typo') && !h.how.startsWith('same name')) hits.push({ id, evidence: `Reply-To ${d}~From ${fromDomain}: ${h.how}`, label: `${d}~${fromDomain}`, domain: h.domain });
      }
      dbLookup({ url: `http://${host}/`, host, domain: d, source: 'text', count: 1 }, 'Reply-To ');
    }

    // Links: database, look-alike hosts.
    const html = model.html.length > LIMITS.htmlChars ? model.html.slice(0, LIMITS.htmlChars) : model.html;
    const urls = (model.text || html) ? extractUrls(model.text, html, { maxUrls: LIMITS.urls }) : [];
    const hosts = new Set<string>();
    for (const u of urls) {
      dbLookup(u, '');
      if (u.source !== 'src' && hosts.size < LIMITS.hosts) hosts.add(u.host);
    }
    for (const h of hosts) lookalike(h, 'link', '');

    // Link text against link target; password forms in the body.
    if (html) {
      const links = htmlLinks(html);
      if (links.length) {
        for (const f of anchorMismatches(links, { guard, senderDomains, fromDomain })) hits.push({ id: f.id, evidence: f.evidence, label: f.label });
      }
      if (PASSWORD_FIELD.test(html)) {
        const f = analyzeHtml(html).find((x) => x.kind === 'credential_form');
        if (f) hits.push({ id: 'BODY_CREDENTIAL_FORM', evidence: f.evidence, label: f.target ?? 'body' });
      }
    }

    // HTML and SVG attachments.
    let examined = 0;
    for (const part of model.parts) {
      if (examined >= LIMITS.attachments) break;
      if (!isHtmlAttachment(part)) continue;
      signal?.throwIfAborted();
      examined++;
      let text: string;
      try {
        text = htmlText(await readHead(part.content!, this.options.maxAttachmentBytes));
      } catch (e) {
        errors.push(`attachment ${part.path}: ${(e as Error).message}`);
        continue;
      }
      const file = part.name ?? part.path;
      for (const f of analyzeHtml(text)) hits.push({ id: HTML_SIGNAL[f.kind], evidence: `${file}: ${f.evidence}`, label: file, part: part.path });
    }

    const { signals, detections: labels } = mergeHits(hits, this.weights);
    const total = score(signals);
    const threshold = this.options.threshold;
    const status = total >= threshold ? 'phishing' : errors.length ? 'error' : 'clean';
    const detections: Detection[] = [];
    if (status === 'phishing') {
      for (const l of labels) {
        const name = `${l.id}:${asciiName(l.label)}`;
        detections.push({ status, name, engine: 'antiphishing', ...(l.part === undefined ? {} : { part: l.part }) });
      }
    }
    const details: Record<string, unknown> = { score: total, threshold, signals };
    if (errors.length) details.errors = errors;
    if (examined) details.htmlAttachments = examined;
    return { module: 'antiphishing', status, detections, details };
  }

  async close(): Promise<void> {}
}

const brandCache = new Map<string, Promise<Brand[]>>();

export async function createAntiphishingScanner(options: AntiphishingOptions = {}, deps: AntiphishingDeps = {}): Promise<AntiphishingScanner> {
  const o = antiphishingOptionsSchema.parse(options);
  let brands = deps.brands;
  if (!brands) {
    const key = o.brandsPath ?? '';
    let p = brandCache.get(key);
    if (!p) {
      p = loadBrands(o.brandsPath);
      p.catch(() => brandCache.delete(key));
      brandCache.set(key, p);
    }
    brands = await p;
  }
  return new AntiphishingScanner(o, brands, deps.urlDb);
}
