/**
 * Destructive actions ask first: `const confirm = useConfirm(); if (await confirm({ title, content })) …`.
 * The dialog names what will happen, the dangerous button says what it does ("Delete"), and Cancel has the focus.
 */
import type { ReactNode } from 'react';
import { App } from 'antd';

export interface ConfirmOptions { title: ReactNode; content?: ReactNode; okText?: string; danger?: boolean }

export function useConfirm(): (o: ConfirmOptions) => Promise<boolean> {
  const { modal } = App.useApp();
  return (o) => new Promise<boolean>((resolve) => {
    modal.confirm({
      title: o.title, content: o.content, okText: o.okText ?? 'Delete', cancelText: 'Cancel',
      okButtonProps: { danger: o.danger ?? true }, autoFocusButton: 'cancel',
      onOk: () => resolve(true), onCancel: () => resolve(false),
    });
  });
}
