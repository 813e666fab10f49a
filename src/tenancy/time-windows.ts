/** Calendar windows in UTC: the minute, day and month a limit counts in. */

/** Which window a limit counts in. */
export type WindowName = 'minute' | 'day' | 'month';

/** One window: an id that names it in counter keys, and its bounds in unix milliseconds. */
export interface TimeWindow {
  id: string;
  start: number;
  end: number;
}

const minuteMs = 60_000;
const dayMs = 86_400_000;

/** The last windows computed: every request asks for the same ones, so they are built once a minute (day). */
let lastMinute: TimeWindow = { id: '', start: 0, end: 0 };
let lastDay: { day: TimeWindow; month: TimeWindow } = { day: { id: '', start: 0, end: 0 }, month: { id: '', start: 0, end: 0 } };

/** The window of kind `name` that contains `now`. */
export function windowAt(name: WindowName, now: number): TimeWindow {
  if (name === 'minute') {
    if (now < lastMinute.start || now >= lastMinute.end) {
      const index = Math.floor(now / minuteMs);
      lastMinute = { id: `m${index}`, start: index * minuteMs, end: (index + 1) * minuteMs };
    }
    return lastMinute;
  }
  if (now < lastDay.day.start || now >= lastDay.day.end) lastDay = { day: dayWindow(now), month: monthWindow(now) };
  return name === 'day' ? lastDay.day : lastDay.month;
}

function dayWindow(now: number): TimeWindow {
  const start = Math.floor(now / dayMs) * dayMs;
  return { id: `d${new Date(start).toISOString().slice(0, 10)}`, start, end: start + dayMs };
}

function monthWindow(now: number): TimeWindow {
  const date = new Date(now);
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  return { id: `M${new Date(start).toISOString().slice(0, 7)}`, start, end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) };
}

/** A wait as OpenAI's rate-limit headers write it: `20ms`, `1.5s`, `6m0s`, `2h3m0s`. */
export function formatWait(milliseconds: number): string {
  const ms = Math.max(0, Math.ceil(milliseconds));
  if (ms < 1000) return `${ms}ms`;
  const totalSeconds = ms / 1000;
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const seconds = Math.floor(totalSeconds) % 60;
  const minutes = Math.floor(totalSeconds / 60) % 60;
  const hours = Math.floor(totalSeconds / 3600);
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
}
