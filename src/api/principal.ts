/** Attaches the Principal to every request; local mode until the tenancy layer replaces the resolver. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { localPrincipal, type Principal } from '../core/principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling; set before any route runs. */
    principal: Principal;
  }
}

/** Resolves the caller of a request, or throws a NimbusError (401/403). */
export type PrincipalResolver = (request: FastifyRequest) => Promise<Principal> | Principal;

/** Installs the resolver as the first hook of every request. */
export function installPrincipal(app: FastifyInstance, resolve: PrincipalResolver = () => localPrincipal): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', async (request) => {
    request.principal = await resolve(request);
  });
}
