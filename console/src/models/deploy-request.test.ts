import { describe, expect, it } from 'vitest';
import { deployBody, emptyDeployDraft } from './deploy-request.js';

describe('deploy request', () => {
  it('sends numbers as numbers and leaves an empty name to the server', () => {
    expect(deployBody({ ...emptyDeployDraft, model: ' hf:o/r/f.gguf ' })).toEqual({
      model: 'hf:o/r/f.gguf',
      replicas: 1,
      device: 'auto',
      context_size: 4096,
      slots: 4,
      spare_slots: 1,
    });
    expect(deployBody({ model: 'm.gguf', name: ' chat ', replicas: '3', device: 'cpu', contextSize: '512', slots: '2', spareSlots: '0' })).toEqual({
      model: 'm.gguf',
      name: 'chat',
      replicas: 3,
      device: 'cpu',
      context_size: 512,
      slots: 2,
      spare_slots: 0,
    });
  });
});
