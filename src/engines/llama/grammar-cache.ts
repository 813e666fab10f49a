/** Compiled grammars of one model, by schema: a schema asked for again is not compiled again. */
import type { Llama, LlamaGrammar } from 'node-llama-cpp';
import { buildJsonGrammar, type GrammarSchema } from './json-schema-grammar.js';

export class GrammarCache {
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly llama: Llama) {}

  /** The grammar of `schema` (`any`: any JSON); a failed compile is forgotten, so the next ask tries again. */
  get(schema: GrammarSchema | 'any'): Promise<LlamaGrammar> {
    const key = schema === 'any' ? 'any' : JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      grammar = schema === 'any' ? this.llama.getGrammarFor('json') : buildJsonGrammar(this.llama, schema);
      if (this.grammars.size > 256) this.grammars.clear();
      this.grammars.set(key, grammar);
      grammar.catch(() => this.grammars.delete(key));
    }
    return grammar;
  }
}
