/**
 * An app's config: the document `POST /v1/apps`, `nimbus apps apply FILE` and every version
 * hold, in the API's own words (snake_case), so the file a team keeps in git, the API body and
 * the stored version are one shape (README, "Apps"). Checked by `api/apps/app-config-schema.ts`.
 */

/** A function the client runs (as `/v1/responses` declares one); GET /v1/apps/NAME shows them to clients. */
export interface AppFunctionTool {
  type: 'function';
  name: string;
  description?: string | null | undefined;
  parameters?: Record<string, unknown> | null | undefined;
  strict?: boolean | null | undefined;
}

/** A remote MCP server the app may use, by label and URL (an `mcp` tool of its Responses calls). */
export interface AppMcpServer {
  server_label: string;
  server_url: string;
}

export interface AppConfig {
  /** A line for people (lists, the console). */
  description?: string | undefined;
  /** The model, or a fallback chain tried in order (each must be served when the version is written). */
  model: string | string[];
  /** The system message of every call (the end user's memory is added after it). */
  instructions?: string | undefined;
  /** Knowledge: the vector stores a `file_search` tool searches (answers cite their files). */
  vector_store_ids?: string[] | undefined;
  /** Function tools the client runs. */
  tools?: AppFunctionTool[] | undefined;
  /** MCP servers the app may call, by label and URL. */
  mcp_servers?: AppMcpServer[] | undefined;
  /** Devices the model may act on (ids, or `*`: every device the calling key may); none when absent. */
  devices?: '*' | string[] | undefined;
  /** Output format, as `/v1/responses`' `text.format` (`text`, `json_object`, `json_schema`). */
  text?: { format: Record<string, unknown> } | undefined;
  temperature?: number | undefined;
  top_p?: number | undefined;
  max_output_tokens?: number | undefined;
  /** The app's own limits and budget, in the fields keys and tenants use (`requests_per_minute`, `cost_per_day_usd`, ...). */
  limits?: Record<string, number> | undefined;
  /** Keep a bounded memory per end user (`user` or `metadata.user_id`), injected into the instructions. */
  memory?: boolean | undefined;
  /**
   * A named check every answer passes before it is sent (`literature`: no dosing or diagnosis
   * advice); the answer is then buffered, never streamed token by token (templates/post-checks.ts).
   */
  post_check?: string | undefined;
}

/** The models of a config, in the order they are tried. */
export function appModels(config: AppConfig): string[] {
  return typeof config.model === 'string' ? [config.model] : config.model;
}
