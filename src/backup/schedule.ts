/**
 * When the daily digest runs next: the first local time `HH:MM` strictly after `from` (ms). Local time is the
 * node's time zone; on a day when the clock jumps forward over that time, the run is at the first valid instant
 * after it (Date normalises), and a day whose clock repeats it runs once (the first occurrence).
 */
export function nextDaily(from: number, hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  const d = new Date(from);
  const at = new Date(d.getFullYear(), d.getMonth(), d.getDate(), h, m, 0, 0);
  if (at.getTime() <= from) at.setDate(at.getDate() + 1);
  // setDate keeps the wall-clock time across DST changes; rebuild to be exact.
  return new Date(at.getFullYear(), at.getMonth(), at.getDate(), h, m, 0, 0).getTime();
}
