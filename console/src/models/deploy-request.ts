/** The deploy form of the Models page as the pool's API takes it (`POST /v1/deployments`). */

/** The form as typed: text fields stay text until sent. */
export interface DeployDraft {
  model: string;
  name: string;
  replicas: string;
  device: 'auto' | 'gpu' | 'cpu';
  contextSize: string;
  slots: string;
  /** Sequences beyond `slots` for interactive requests while batch lines hold the slots (decision 0017). */
  spareSlots: string;
}

/** The form's starting values: the API's defaults. */
export const emptyDeployDraft: DeployDraft = { model: '', name: '', replicas: '1', device: 'auto', contextSize: '4096', slots: '4', spareSlots: '1' };

/** The request body: numbers as numbers, an empty name left out (the server names it after the file). */
export function deployBody(draft: DeployDraft): Record<string, unknown> {
  return {
    model: draft.model.trim(),
    ...(draft.name.trim() ? { name: draft.name.trim() } : {}),
    replicas: Number(draft.replicas),
    device: draft.device,
    context_size: Number(draft.contextSize),
    slots: Number(draft.slots),
    spare_slots: Number(draft.spareSlots),
  };
}
