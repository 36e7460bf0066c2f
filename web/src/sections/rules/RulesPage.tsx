/**
 * The Rules section (SPEC §2; docs/console.md "Rules"): the table of processing rules, top to bottom, and the rule
 * editor (/rules/new, /rules/:id). Viewers see both read-only; changes need rules.edit (the API refuses anyway).
 */
import { Route, Routes } from 'react-router-dom';
import { RulesTable } from './RulesTable';
import { RuleEditor } from './RuleEditor';

export default function RulesPage() {
  return (
    <Routes>
      <Route index element={<RulesTable />} />
      <Route path="new" element={<RuleEditor />} />
      <Route path=":id" element={<RuleEditor />} />
    </Routes>
  );
}
