/**
 * The second pass over the tree the MIME walk built: every leaf's true type from its content (filetype.ts,
 * never the declared type or name), then what it holds, depth-first:
 * - containers (zip, gzip, tar, 7z, rar, TNEF, ...) expanded by containers.ts, one unpack budget per message,
 *   members become parts (origin 'archive' or 'tnef', path `<parent>/<member name>`);
 * - attached messages (message/rfc822 or message/global, or an attachment whose content is an RFC 5322
 *   message) walked as messages of their own (origin 'rfc822', root path `<parent>.1`);
 * - uuencoded files in text/plain bodies (and x-uuencode parts), origin 'uuencode', path `<parent>/<name>`.
 * Hostile input: all content. Limits: depth (nothing is expanded below maxDepth), parts, the containers'
 * member and unpack limits (their ContainerLimitError becomes a LimitHit; members read before it are kept), the
 * in-memory total (members over it are moved to temporary files), and the deadline (the pass stops, 'time').
 */
import type { Part } from '../types.ts';
import { expand } from './containers.ts';
import type { ModelContext, TreeNode } from './context.ts';
import { identify, type Identified } from './filetype.ts';
import { ContainerLimitError, errorText, type Member } from './member.ts';
import { hashContent, spill } from './sink.ts';
import { contentStream, type Content } from './source.ts';
import { extractUuencoded } from './uuencode.ts';
import { walkMime } from './walk.ts';

const UU_CTE = new Set(['x-uuencode', 'x-uue', 'uuencode']);
const MESSAGE_TYPES = new Set(['message/rfc822', 'message/global']);

/** Identifies and opens every leaf under `node` (children added here are visited too). */
export async function enrich(node: TreeNode, ctx: ModelContext): Promise<void> {
  if (ctx.aborted) return;
  if (node.part.content) await enrichLeaf(node, node.part.content, ctx);
  for (const child of node.children) await enrich(child, ctx);
}

async function enrichLeaf(node: TreeNode, content: Content, ctx: ModelContext): Promise<void> {
  const part = node.part;
  let id: Identified;
  try {
    id = await identify(content, part.size);
  } catch (err) {
    ctx.hit('malformed', `type detection failed: ${errorText(err)}`, part.path);
    return;
  }
  part.trueType = { category: id.category, label: id.label };
  if (id.encrypted) part.encrypted = true;
  if (id.hasMacros) part.hasMacros = true;

  const isMessage = MESSAGE_TYPES.has(part.declaredType) || (part.isAttachment && id.label === 'rfc822');
  if (id.container || isMessage) {
    if (part.depth + 1 > ctx.limits.maxDepth) {
      ctx.hit('depth', `nesting deeper than ${ctx.limits.maxDepth} levels`, part.path);
    } else if (ctx.partsLeft === 0) {
      ctx.hit('parts', `more than ${ctx.limits.maxParts} parts`, part.path);
    } else if (id.container) {
      await expandContainer(node, content, id.container, ctx);
    } else {
      await nestMessage(node, content, ctx);
    }
  } else if (node.mime !== undefined && (part.declaredType === 'text/plain' || UU_CTE.has(node.mime.cte))) {
    await uudecode(node, content, ctx);
  }
}

async function expandContainer(node: TreeNode, content: Content, kind: NonNullable<Identified['container']>, ctx: ModelContext): Promise<void> {
  const part = node.part;
  const { limits } = ctx;
  let members: Member[];
  try {
    members = await expand(content, kind, {
      maxMembers: limits.maxMembers, maxTotalMembers: limits.maxParts, maxUnpackedBytes: limits.maxUnpackedBytes,
      maxMemberInMemory: limits.maxPartInMemory, tempDir: await ctx.temp.dir(), signal: ctx.signal,
      ...(limits.sevenZip !== undefined ? { sevenZip: limits.sevenZip } : {}),
    }, ctx.budget);
  } catch (err) {
    if (err instanceof ContainerLimitError) {
      ctx.hit(err.limit, `${kind}: ${err.message}`, part.path);
      members = err.partial;
    } else if (ctx.aborted) {
      return;
    } else {
      ctx.hit('malformed', `${kind}: ${errorText(err)}`, part.path);
      return;
    }
  }
  const origin: Part['origin'] = kind === 'tnef' ? 'tnef' : 'archive';
  for (const [i, m] of members.entries()) {
    const child = ctx.newPart({
      path: `${part.path}/${m.name || i + 1}`, depth: part.depth + 1, origin, declaredType: '',
      ...(m.name ? { name: m.name } : {}), size: m.size, isLeaf: true, isAttachment: true, ...(m.encrypted ? { encrypted: true } : {}),
    }, part.path);
    if (!child) break;
    if (m.error) ctx.hit('malformed', `${kind} member: ${m.error}`, child.path);
    node.children.push({ part: child, children: [] });
    // An encrypted member comes without its bytes: no content, so no hashes of an empty file either.
    if (m.encrypted && m.content.kind === 'buffer' && m.content.data.length === 0) continue;
    let c = m.content;
    if (c.kind === 'buffer' && !ctx.memory.take(c.data.length)) c = await spill(c, ctx.temp);
    Object.assign(child, { content: c }, await hashContent(c));
  }
}

async function nestMessage(node: TreeNode, content: Content, ctx: ModelContext): Promise<void> {
  const part = node.part;
  const { root } = await walkMime(contentStream(content), ctx, { parent: node, depth: part.depth + 1, path: `${part.path}.1`, origin: 'rfc822' });
  if (root) node.children.push(root);
}

async function uudecode(node: TreeNode, content: Content, ctx: ModelContext): Promise<void> {
  const part = node.part;
  // Most text has no uuencoded file: the limits are only reported when there is one they keep out.
  const tooDeep = part.depth + 1 > ctx.limits.maxDepth;
  const { files, more } = await extractUuencoded(content, ctx, tooDeep ? 0 : ctx.partsLeft);
  if (more && tooDeep) ctx.hit('depth', `nesting deeper than ${ctx.limits.maxDepth} levels`, part.path);
  else if (more) ctx.hit('parts', `more than ${ctx.limits.maxParts} parts`, part.path);
  for (const f of files) {
    const child = ctx.newPart({
      path: `${part.path}/${f.name || 'uuencoded'}`, depth: part.depth + 1, origin: 'uuencode', declaredType: '',
      ...(f.name ? { name: f.name } : {}), size: f.stored.size, isLeaf: true, isAttachment: true,
    }, part.path);
    if (!child) break;
    Object.assign(child, { content: f.stored.content, md5: f.stored.md5, sha256: f.stored.sha256 });
    node.children.push({ part: child, children: [] });
  }
}
