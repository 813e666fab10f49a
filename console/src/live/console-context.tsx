/** What every page shares: who signed in, the live store fed by `/v1/events`, and the command desk. */
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import type { Me } from '../api/types.js';
import type { CommandDesk } from './command-desk.js';
import type { LiveSnapshot, LiveStore } from './live-store.js';

export interface ConsoleServices {
  me: Me;
  live: LiveStore;
  desk: CommandDesk;
  signOut: () => void;
  /** Signs this tab in with a key (the one just created, when it ended local mode). */
  signIn: (key: string) => void;
}

export const ConsoleContext = createContext<ConsoleServices | null>(null);

/** The signed-in services; only inside the console. */
export function useConsole(): ConsoleServices {
  const services = useContext(ConsoleContext);
  if (!services) throw new Error('useConsole outside the signed-in console');
  return services;
}

/** The live snapshot; re-renders on every change. */
export function useLive(): LiveSnapshot {
  const { live } = useConsole();
  return useSyncExternalStore(live.subscribe, live.get);
}

/** The value of `load()`, reloaded whenever `version` changes; errors in words. */
export function useLoad<T>(load: () => Promise<T>, version: unknown = 0): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(null);
      },
      (failure: unknown) => {
        if (current) setError(failure instanceof Error ? failure.message : String(failure));
      },
    );
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- reload on version and explicit reloads only
  }, [version, tick]);
  return { data, error, reload: () => setTick((value) => value + 1) };
}
