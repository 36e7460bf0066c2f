/**
 * The rules area of the API for the console: the list (top to bottom, presets marked), one rule, and the
 * changes (create, update, delete, enable/disable, move). Every change refreshes the `['rules']` queries.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import type { Rule } from './vocab';

/** A rule document as the editor sends it (POST / PATCH take a rule document or part of one). */
export type RuleInput = Record<string, unknown>;

export function useRulesList() {
  return useQuery({ queryKey: ['rules', 'list'], queryFn: async () => (await call(api.GET('/api/v1/rules'))).items });
}

export function useRule(id: string | undefined) {
  return useQuery({
    queryKey: ['rules', 'one', id], enabled: !!id,
    queryFn: () => call(api.GET('/api/v1/rules/{id}', { params: { path: { id: id! } } })),
  });
}

export function useRuleChanges() {
  const qc = useQueryClient();
  const done = () => qc.invalidateQueries({ queryKey: ['rules'] });
  const setList = (items: Rule[]) => qc.setQueryData(['rules', 'list'], items);
  return {
    create: useMutation({ mutationFn: (body: RuleInput) => call(api.POST('/api/v1/rules', { body })), onSuccess: done }),
    update: useMutation({ mutationFn: (v: { id: number; body: RuleInput }) => call(api.PATCH('/api/v1/rules/{id}', { params: { path: { id: String(v.id) } }, body: v.body })), onSuccess: done }),
    remove: useMutation({ mutationFn: (id: number) => call(api.DELETE('/api/v1/rules/{id}', { params: { path: { id: String(id) } } })), onSuccess: done }),
    setEnabled: useMutation({
      mutationFn: (v: { id: number; enabled: boolean }) => (v.enabled
        ? call(api.POST('/api/v1/rules/{id}/enable', { params: { path: { id: String(v.id) } } }))
        : call(api.POST('/api/v1/rules/{id}/disable', { params: { path: { id: String(v.id) } } }))),
      onSettled: done,
    }),
    move: useMutation({
      mutationFn: (v: { id: number; to: number }) => call(api.POST('/api/v1/rules/{id}/move', { params: { path: { id: String(v.id) } }, body: { to: v.to } })),
      onSuccess: (r) => { setList(r.items); void done(); },
    }),
  };
}
