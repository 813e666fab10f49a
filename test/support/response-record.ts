/** A finished response as `ResponseRecords.save` takes it: tenant `acme`, one input item and one output message named after `id`. */
export function responseRecord(id: string, previousResponseId: string | null = null) {
  return {
    id,
    tenantId: 'acme',
    keyId: null,
    createdAt: Date.now(),
    status: 'completed',
    previousResponseId,
    body: { id, object: 'response', output: [{ id: `msg_${id}`, type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `from ${id}` }] }] },
    inputItems: [{ id: `in_${id}`, type: 'message', role: 'user', content: [{ type: 'input_text', text: `to ${id}` }] }],
  };
}
