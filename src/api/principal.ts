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

/**
 * Installs the resolver as the first hook of every request. A callback hook, not an async one:
 * a resolver that answers from its cache at once costs no promise.
 */
export function installPrincipal(app: FastifyInstance, resolve: PrincipalResolver = () => localPrincipal): void {
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRequest', (request, _reply, done) => {
    let result: Principal | Promise<Principal>;
    try {
      result = resolve(request);
    } catch (error) {
      done(error as Error);
      return;
    }
    if (!(result instanceof Promise)) {
      request.principal = result;
      done();
      return;
    }
    result.then(
      (principal) => {
        request.principal = principal;
        done();
      },
      (error: unknown) => done(error as Error),
    );
  });
}
