/** `model: "app:NAME"`: an app called by name where a model name goes. */

/** The prefix that makes a model name an app's. */
export const appPrefix = 'app:';

/** The app a model name calls, or undefined for a plain model. */
export function appNameOf(model: string): string | undefined {
  return model.startsWith(appPrefix) ? model.slice(appPrefix.length) : undefined;
}

/** App names: lower-case letters, digits, - and _, as tenant ids (URLs, counter names and metric labels hold them unescaped). */
export const appNamePattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;
