/** Adds `/v1/files` and `/v1/vector_stores` to a built server (before it listens), over the knowledge services main.ts started. */
import type { FastifyInstance } from 'fastify';
import type { KnowledgeServices } from '../knowledge/start-knowledge.js';
import { registerFileRoutes } from './routes/files.js';
import { registerVectorStoreFileRoutes } from './routes/vector-store-files.js';
import { registerVectorStoreRoutes } from './routes/vector-stores.js';

export function installKnowledge(app: FastifyInstance, knowledge: KnowledgeServices): void {
  registerFileRoutes(app, knowledge.files);
  registerVectorStoreRoutes(app, knowledge.vectorStores, knowledge.search);
  registerVectorStoreFileRoutes(app, knowledge.vectorStores);
}
