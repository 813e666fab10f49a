/**
 * A button's or form's action with its failure in words: `run` clears the error when the action
 * succeeds and keeps the API's message when it fails, for an `ErrorNote` beside the control.
 */
import { useCallback, useState } from 'react';

export function useAction(): { error: string | null; run: (action: () => Promise<void>) => Promise<void> } {
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async (action: () => Promise<void>): Promise<void> => {
    try {
      await action();
      setError(null);
    } catch (failure) {
      setError((failure as Error).message);
    }
  }, []);
  return { error, run };
}
