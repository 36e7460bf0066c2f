/**
 * Message queue (SPEC §1 queue management): counts and the pause state of sending / receiving, the list of
 * queued messages with filters and bulk actions, and one message with its recipients. Routes: /queue and
 * /queue/ID. Access: queue.view to see; queue.edit for retry, hold, release, delete, pause and resume (the
 * buttons are not shown without it, and the API refuses anyway).
 */
import { Route, Routes } from 'react-router-dom';
import { PageHeader } from '../../shell/PageHeader';
import { QueueList } from './QueueList';
import { QueueDetail } from './QueueDetail';
import '../events/events.css';

export default function QueuePage() {
  return (
    <>
      <PageHeader title="Message queue" subtitle="Messages waiting for delivery on every node: why they wait, and what to do with them." />
      <Routes>
        <Route index element={<QueueList />} />
        <Route path=":id" element={<QueueDetail />} />
      </Routes>
    </>
  );
}
