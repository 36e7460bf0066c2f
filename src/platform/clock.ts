/**
 * Clock port: the current time in milliseconds. Queue schedules and limits read the clock through this so tests
 * can move time without sleeping.
 */
export interface Clock { now(): number }

export const systemClock: Clock = { now: () => Date.now() };
