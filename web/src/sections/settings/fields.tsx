/**
 * Small form parts shared by the settings cards: a list of strings typed as tags, a number with its unit, a
 * secret (shown as ******** and kept unless replaced), a responsive field grid, and `pick` for merge patches that
 * carry only the fields a card shows.
 */
import type { ChangeEvent, ReactNode } from 'react';
import { Col, Input, InputNumber, Row, Select, type InputNumberProps, type SelectProps } from 'antd';

/** A list of strings (addresses, networks, domains): type and press Enter or comma. */
export function ListInput(props: SelectProps<string[]> & { placeholder?: string }) {
  return <Select<string[]> mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', ' ', '\n']} {...props} />;
}

export function Num({ unit, ...props }: InputNumberProps<number> & { unit?: string }) {
  return <InputNumber<number> style={{ width: '100%' }} precision={0} suffix={unit} {...props} />;
}

/** A secret field: the API shows a stored secret as ********; sent back as is, the server keeps it. */
export function Secret(props: { placeholder?: string; id?: string; value?: string; onChange?: (e: ChangeEvent<HTMLInputElement>) => void; disabled?: boolean }) {
  return <Input.Password visibilityToggle={false} autoComplete="new-password" placeholder={props.placeholder ?? 'not set'} {...props} />;
}

/** Fields side by side on wide screens, one per line on a phone. */
export function Grid({ children }: { children: ReactNode }) {
  return <Row gutter={[16, 0]}>{Array.isArray(children) ? children.map((c, i) => <Col key={i} xs={24} md={12} xl={8}>{c}</Col>) : <Col xs={24} md={12} xl={8}>{children}</Col>}</Row>;
}

/** The named keys of `values` (a merge patch with only what the card shows). */
export function pick(values: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => Object.hasOwn(values, k)).map((k) => [k, values[k] === undefined ? null : values[k]]));
}

/** '' and whitespace → null (an optional text setting left empty takes its default). */
export const emptyToNull = (v: unknown): unknown => (typeof v === 'string' && v.trim() === '' ? null : v);

export const TLS_OUTBOUND_OPTIONS = [
  { value: 'none', label: 'none: never use TLS' },
  { value: 'may', label: 'may: use TLS when offered' },
  { value: 'require', label: 'require: TLS or no delivery' },
  { value: 'verify', label: 'verify: TLS with a valid certificate' },
];
