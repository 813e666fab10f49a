/**
 * Calls against a Nimbus in front of a FaultUpstream priced so that one call is one unit: model
 * `echo` at $1 per million output tokens, max_tokens 6, and the upstream's 6 output tokens (the
 * quote and the bill are both 6,000 nano-dollars). For tests that count calls against budgets.
 */

/** The fields of an answer these tests read. */
export interface BudgetAnswer {
  key?: string;
  id?: string;
  error?: { code: string };
  data?: Array<{ requests: number; cost_usd: number }>;
}

/** A cost budget of `units` calls, in dollars. */
export function unitsUsd(units: number): number {
  return Number((units * 6e-6).toFixed(9));
}

/** The calls, against one server (`url`), or several taken in turn. */
export function budgetApi(...urls: string[]) {
  let turn = 0;
  const next = (): string => urls[turn++ % urls.length]!;
  const call = async (key: string, method: string, path: string, body?: unknown, url = next()): Promise<{ status: number; body: BudgetAnswer }> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as BudgetAnswer };
  };
  return {
    call,
    /** `count` one-unit calls at once, spread over the servers: how many were served, how many refused for the budget. */
    async burst(key: string, count: number): Promise<{ served: number; refused: number }> {
      const body = { model: 'echo', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6 };
      const answers = await Promise.all(Array.from({ length: count }, () => call(key, 'POST', '/v1/chat/completions', body)));
      const other = answers.find((answer) => answer.status !== 200 && answer.body.error?.code !== 'insufficient_quota');
      if (other) throw new Error(`an answer neither served nor refused for the budget: ${other.status} ${JSON.stringify(other.body)}`);
      return { served: answers.filter((answer) => answer.status === 200).length, refused: answers.filter((answer) => answer.status === 429).length };
    },
    /** Waits until the ledger holds `requests` rows of the key (rows are written in batches). */
    async flushed(operator: string, keyId: string, requests: number): Promise<void> {
      for (let attempt = 0; attempt < 100; attempt += 1) {
        const usage = await call(operator, 'GET', `/v1/usage?key=${keyId}&group_by=status`);
        const rows = (usage.body.data ?? []).reduce((sum, row) => sum + row.requests, 0);
        if (rows >= requests) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`the ledger never held ${requests} rows of ${keyId}`);
    },
  };
}
