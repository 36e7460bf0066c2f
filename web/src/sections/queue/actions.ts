/**
 * The queue's actions on one message (queue.edit): retry now, hold, release, delete. Each is one API call; the
 * bulk actions of the list run them one by one with progress (components/DataTable.tsx), so each failure is
 * shown in words (e.g. "… is held: release it") while the others go on.
 */
import { api, call } from '../../api/client';

export type QueueVerb = 'retry' | 'hold' | 'release' | 'delete';

export async function queueAction(verb: QueueVerb, id: string): Promise<unknown> {
  const path = { params: { path: { id } } };
  switch (verb) {
    case 'retry': return call(api.POST('/api/v1/queue/{id}/retry', path));
    case 'hold': return call(api.POST('/api/v1/queue/{id}/hold', path));
    case 'release': return call(api.POST('/api/v1/queue/{id}/release', path));
    case 'delete': return call(api.DELETE('/api/v1/queue/{id}', path));
  }
}

export const VERB_TEXT: Record<QueueVerb, { label: string; done: string }> = {
  retry: { label: 'Retry now', done: 'Delivery started' },
  hold: { label: 'Hold', done: 'Held: it will not be delivered until released' },
  release: { label: 'Release', done: 'Released for delivery' },
  delete: { label: 'Delete', done: 'Deleted from the queue' },
};
