/**
 * Apps on a control plane (issue 23): the `/v1/apps` and `/v1/app_templates` routes, knowledge search for apps' chat
 * completions, and the rule that a vector store an app's live version uses cannot be deleted
 * (409, `x-should-retry: false`: publish a version without it first).
 */
import type { FastifyInstance } from 'fastify';
import { NimbusError } from '../core/errors.js';
import type { KnowledgeServices } from '../knowledge/start-knowledge.js';
import { registerAppTemplateRoutes } from './routes/app-templates.js';
import { registerAppRoutes } from './routes/apps.js';
import type { ServerContext } from './server-context.js';

export function installApps(app: FastifyInstance, context: ServerContext, knowledge: Pick<KnowledgeServices, 'search' | 'vectorStores'>): void {
  context.knowledgeSearch = knowledge.search;
  knowledge.vectorStores.deleteGuard = async (tenantId, id) => {
    const users = (await context.apps.store.listApps(tenantId)).filter((found) => found.config.vector_store_ids?.includes(id));
    if (users.length === 0) return;
    const names = users.map((found) => `'${found.name}' (version ${found.liveVersion})`).join(', ');
    throw new NimbusError(
      'conflict',
      `Vector store '${id}' is the knowledge of app ${names}: publish a version of the app without it (or delete the app) first.`,
      { param: 'vector_store_id' },
    );
  };
  registerAppRoutes(app, context);
  registerAppTemplateRoutes(app);
}
