const units = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in decimal units with one decimal (`469.4 MB`), the units Hugging Face shows sizes in. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
