/**
 * The Backup section (SPEC §5; docs/console.md "Backup"): /backup is the searchable table, /backup/:id one
 * message. Needs backup.view (the shell hides it otherwise; the API refuses anyway).
 */
import { Route, Routes } from 'react-router-dom';
import { PageHeader } from '../../shell/PageHeader';
import { BackupList } from './BackupList';
import { BackupMessage } from './BackupMessage';
import './backup.css';

export default function BackupPage() {
  return (
    <Routes>
      <Route index element={<>
        <PageHeader title="Backup" subtitle="Messages kept by the rules: search, view, deliver, download and delete." />
        <BackupList />
      </>} />
      <Route path=":id" element={<BackupMessage />} />
    </Routes>
  );
}
