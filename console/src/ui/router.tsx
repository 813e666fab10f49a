/** A router of a few lines: the path in the address bar picks the page; links push history. */
import { useEffect, useState, type MouseEvent, type ReactNode } from 'react';

const listeners = new Set<() => void>();

/** Shows the page at `path` (pushes history). */
export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  for (const listener of listeners) listener();
}

/** The current path; re-renders on navigation. */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = (): void => setPath(location.pathname);
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** A link that navigates without reloading (modified clicks open as usual). */
export function Link({
  to,
  children,
  current,
  className,
  testId,
}: {
  to: string;
  children: ReactNode;
  current?: boolean;
  className?: string;
  testId?: string;
}) {
  const follow = (event: MouseEvent<HTMLAnchorElement>): void => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={to} onClick={follow} aria-current={current ? 'page' : undefined} className={className} data-testid={testId}>
      {children}
    </a>
  );
}
