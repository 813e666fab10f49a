/**
 * Fetches an assigned model from the control plane's model cache into this worker's own home,
 * with the same resumable, checked download `nimbus pull` uses. Files live under their sha256,
 * so a changed model is never mistaken for the old one.
 */
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ReplicaAssignment } from '../core/pool-control.js';
import { downloadFile } from '../models/download.js';

/** The local path of the assignment's GGUF, downloading it first when it is not here whole. */
export async function fetchAssignedModel(home: string, controlPlane: string, assignment: ReplicaAssignment, credential: string): Promise<string> {
  // basename and a hex digest only: whatever the control plane sends, the file lands under <home>/pool-models.
  const destination = join(home, 'pool-models', assignment.sha256.replace(/[^0-9a-f]/gi, '').slice(0, 16), basename(assignment.fileName));
  // A file under its final name was verified when it was renamed there (see downloadFile).
  if ((await stat(destination).catch(() => undefined))?.size === assignment.size) return destination;
  await downloadFile({
    url: `${controlPlane}${assignment.file}`,
    destination,
    expectedSize: assignment.size,
    expectedSha256: assignment.sha256,
    headers: { authorization: `Bearer ${credential}` },
    timeoutMs: 30_000,
  });
  return destination;
}
