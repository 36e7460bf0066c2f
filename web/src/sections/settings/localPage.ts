/**
 * Paging and sorting of a list the API answers whole (domains, keys, accounts, roles, tokens): the DataTable
 * asks for one page; this cuts it out of the full list, sorted by the column the user chose.
 */
import type { PageRequest, PageResult } from '../../components/DataTable';

export function localPage<T extends object>(items: T[], req: PageRequest): PageResult<T> {
  let sorted = items;
  if (req.sortField && req.sortOrder) {
    const f = req.sortField as keyof T;
    const dir = req.sortOrder === 'ascend' ? 1 : -1;
    sorted = [...items].sort((a, b) => {
      const x = a[f] as unknown, y = b[f] as unknown;
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * dir;
    });
  }
  return { items: sorted.slice(req.offset, req.offset + req.limit), total: items.length };
}
