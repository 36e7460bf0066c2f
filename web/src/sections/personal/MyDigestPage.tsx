/**
 * Personal mode, "My digest" (SPEC §5 Digest): whether each of the user's addresses gets the daily e-mail that
 * lists its new Backup messages. One switch per address (PUT /personal/digest with that address); the switch
 * shows the server's answer, and a refusal in words next to it.
 */
import { useState } from 'react';
import { Alert, Card, List, Spin, Switch, Typography } from 'antd';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call, problemText } from '../../api/client';
import { PageHeader } from '../../shell/PageHeader';

export default function MyDigestPage() {
  const qc = useQueryClient();
  const [problem, setProblem] = useState<{ address: string; text: string } | null>(null);
  const q = useQuery({ queryKey: ['personal', 'digest'], queryFn: () => call(api.GET('/api/v1/personal/digest')) });
  const set = useMutation({
    mutationFn: (v: { address: string; subscribed: boolean }) => call(api.PUT('/api/v1/personal/digest', { body: v })),
    onMutate: () => setProblem(null),
    onSuccess: (data) => qc.setQueryData(['personal', 'digest'], data),
    onError: (e, v) => setProblem({ address: v.address, text: problemText(e) }),
  });
  return (
    <>
      <PageHeader title="My digest" subtitle="A daily e-mail that lists the messages newly kept in your Backup, with links to view or release them." />
      <Card>
        {q.isError && <Alert type="error" showIcon role="alert" title={problemText(q.error)} />}
        {q.isPending && <Spin />}
        {q.data && !q.data.addresses.length && <Alert type="info" showIcon title="Your account has no mail address, so there is no digest to receive." />}
        {q.data && q.data.addresses.length > 0 && (
          <List
            dataSource={q.data.addresses}
            renderItem={(a) => (
              <List.Item actions={[
                <Switch key="s" checked={a.subscribed} loading={set.isPending && set.variables?.address === a.address}
                  aria-label={`Daily digest for ${a.address}`} checkedChildren="On" unCheckedChildren="Off"
                  onChange={(subscribed) => set.mutate({ address: a.address, subscribed })} />,
              ]}>
                <List.Item.Meta title={a.address}
                  description={<>
                    <Typography.Text type="secondary">{a.subscribed ? 'You get the digest for this address.' : 'No digest for this address.'}</Typography.Text>
                    {problem?.address === a.address && <div><Typography.Text type="danger" role="alert">{problem.text}</Typography.Text></div>}
                  </>} />
              </List.Item>
            )}
          />
        )}
      </Card>
    </>
  );
}
