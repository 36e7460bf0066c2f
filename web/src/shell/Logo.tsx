// Moat's mark: an envelope over water (the same drawing as public/favicon.svg).
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false">
      <rect width="32" height="32" rx="7" fill="#1d4ed8" />
      <path d="M7 22V11l9 6 9-6v11" fill="none" stroke="#fff" strokeWidth="2.6" strokeLinejoin="round" />
      <path d="M5 25.5c3.5 2 6.5-2 11 0s7.5 2 11 0" fill="none" stroke="#93c5fd" strokeWidth="2" />
    </svg>
  );
}
