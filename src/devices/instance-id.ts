/**
 * This server's own name among the servers that share a broker or a database: random, made once
 * and kept in `<home>/instance-id`, so it is unique per instance and the same across restarts.
 * The MQTT bridge's client id is built from it: two servers on one topic root never take over
 * each other's session, and a restarted server takes back its own (with the answers it kept).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Reads this instance's id from `home`, making it on first use. */
export function instanceId(home: string): string {
  const path = join(home, 'instance-id');
  try {
    const stored = readFileSync(path, 'utf8').trim();
    if (/^[a-z0-9]{8,64}$/.test(stored)) return stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const made = randomBytes(8).toString('hex');
  mkdirSync(home, { recursive: true });
  // `wx`: of two processes starting on one home at once, the second reads the first's id.
  try {
    writeFileSync(path, `${made}\n`, { flag: 'wx', mode: 0o644 });
    return made;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFileSync(path, 'utf8').trim();
  }
}

/** The MQTT client id of this instance's bridge on a topic root. */
export function bridgeClientId(home: string, topicRoot: string): string {
  return `nimbus-${topicRoot}-${instanceId(home)}`;
}
