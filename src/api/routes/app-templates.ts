/**
 * `GET /v1/app_templates` and `GET /v1/app_templates/NAME` (issue 23): the app templates under
 * templates/, read by the code the CLI's `nimbus apps create --template` reads them with, so the
 * console can create an app from one through the public API as the CLI does: the listing shows
 * each template's configuration, variants and knowledge files; one template's answer carries the
 * knowledge files' text to upload. Admin only, as creating an app is. Not under `/v1/apps/`,
 * where `templates` would hide an app of that name.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { readTemplate, templateNames, type AppTemplate } from '../../apps/app-templates.js';
import { NimbusError } from '../../core/errors.js';
import { parseRequest } from '../../core/openai/parse-request.js';
import { requireAdmin } from '../admin-access.js';

const nameParams = z.object({ name: z.string().min(1).max(64) });

function templateView(template: AppTemplate, withText: boolean): object {
  return {
    object: 'app.template',
    name: template.name,
    description: typeof template.config.description === 'string' ? template.config.description : null,
    config: template.config,
    variants: template.variants,
    knowledge: template.knowledge.map((path) => ({
      filename: basename(path),
      bytes: statSync(path).size,
      ...(withText ? { text: readFileSync(path, 'utf8') } : {}),
    })),
  };
}

export function registerAppTemplateRoutes(app: FastifyInstance): void {
  app.get('/v1/app_templates', async (request) => {
    requireAdmin(request.principal);
    return { object: 'list', data: templateNames().map((name) => templateView(readTemplate(name)!, false)) };
  });

  app.get('/v1/app_templates/:name', async (request) => {
    requireAdmin(request.principal);
    const { name } = parseRequest(nameParams, request.params);
    const template = readTemplate(name);
    if (!template)
      throw new NimbusError('not_found', `No app template '${name}'; there are ${templateNames().join(', ')} (GET /v1/app_templates).`, { param: 'name' });
    return templateView(template, true);
  });
}
