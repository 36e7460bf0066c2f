// What a section shows until it is built: its name, what it will do, and that it is coming.
import { Card, Result, Tag } from 'antd';
import type { Section } from '../sections';
import { PageHeader } from './PageHeader';

export function Placeholder({ section }: { section: Section }) {
  return (
    <>
      <PageHeader title={section.label} subtitle={section.description} />
      <Card data-testid="section-coming">
        <Result
          icon={<span className="placeholder-icon" aria-hidden="true">{section.icon}</span>}
          title="Coming soon"
          subTitle={<>This section is not in the console yet. <Tag color="blue">Coming</Tag></>}
        />
      </Card>
    </>
  );
}
