// Ant Design theme tokens of the console: one blue, calm neutrals, a dark side menu.
import type { ThemeConfig } from 'antd';

export const theme: ThemeConfig = {
  token: {
    colorPrimary: '#1d4ed8',
    colorInfo: '#1d4ed8',
    colorSuccess: '#15803d',
    colorWarning: '#b45309',
    colorError: '#b91c1c',
    borderRadius: 8,
    colorBgLayout: '#f4f6fa',
    fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', sans-serif",
  },
  components: {
    Layout: { siderBg: '#0f172a', headerBg: '#ffffff', headerHeight: 56, headerPadding: '0 20px' },
    Menu: { darkItemBg: '#0f172a', darkSubMenuItemBg: '#0f172a', darkItemSelectedBg: '#1d4ed8', darkGroupTitleColor: '#64748b' },
    Card: { headerFontSize: 15 },
  },
};
