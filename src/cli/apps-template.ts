/**
 * `nimbus apps create --template NAME [--name APP] [--model MODEL]`: an app from one of the
 * templates under templates/ (app-templates.ts), its knowledge uploaded into a new vector store
 * first; `nimbus apps templates` lists them. `nimbus apps` (apps.ts) hands `create --template`
 * and `templates` here.
 */
import { parseArgs } from 'node:util';
import { adminClient, commandFailure } from './admin-client.js';
import { createFromTemplate, loadTemplate, templateNames } from './app-templates.js';

export const appsTemplateUsage = `Usage: nimbus apps create --template NAME [--name APP] [--model MODEL]
       nimbus apps templates

Creates an app from a template (${templateNames().join(', ')}): its knowledge files are uploaded
into a new vector store APP-knowledge and indexed, then the app is created with it. A template
with variants (the tutor's quiz and grading) creates one app per variant, APP-VARIANT, on the same
store. Talks to NIMBUS_URL with the admin key in NIMBUS_API_KEY.`;

/** Runs `nimbus apps create --template ...` or `nimbus apps templates`; returns the exit code. */
export async function appsTemplateCommand(argv: string[], environment: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { template: { type: 'string' }, name: { type: 'string' }, model: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}. 'nimbus apps create --help' shows the usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(appsTemplateUsage);
    return 0;
  }
  if (positionals[0] === 'templates') {
    for (const name of templateNames()) console.log(`${name.padEnd(22)} ${String(loadTemplate(name).config.description ?? '')}`);
    return 0;
  }
  if (positionals[0] !== 'create' || !values.template) {
    console.error(`error: give a template: nimbus apps create --template NAME (${templateNames().join(', ')})`);
    return 2;
  }
  try {
    const created = await createFromTemplate(adminClient(environment), loadTemplate(values.template), { name: values.name, model: values.model }, (line) =>
      console.log(line),
    );
    for (const app of created.apps) console.log(`created app ${String(app.name)} (${String(app.model)}, version ${String(app.live_version)})`);
    return 0;
  } catch (error) {
    return commandFailure(error);
  }
}
