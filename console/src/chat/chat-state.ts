/**
 * The playground's conversation as a reducer: a streamed answer grows chunk by chunk (text, tool
 * calls merged by index as OpenAI streams them), device activity from the live feed attaches to
 * the answer being written, and the final chunk brings the actions' outcomes and the usage.
 */
import type { AuditEntry, DeviceAction } from '../api/types.js';

export interface ToolCallView {
  id: string;
  name: string;
  arguments: string;
}

/** A file the answer drew on (an OpenAI `file_citation` annotation), at `index` in its text. */
export interface CitationView {
  fileId: string;
  filename: string;
  index: number;
}

/** A passage a search found (a `file_search_call`'s result), as the model was given it. */
export interface PassageView {
  fileId: string;
  filename: string;
  score: number;
  text: string;
}

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
  toolCalls: ToolCallView[];
  /** Files cited, from a knowledge turn (`/v1/responses` with file_search). */
  citations: CitationView[];
  /** Passages the searches found, in the order they came. */
  passages: PassageView[];
  /** Outcomes of device actions the server ran for this answer. */
  actions: DeviceAction[];
  /** Proposals, approvals and executions seen live while the answer was written. */
  activity: AuditEntry[];
  finishReason: string | null;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

export interface ChatState {
  messages: ChatMessage[];
  streaming: boolean;
  error: string | null;
  usage: ChatUsage | null;
  /** Milliseconds from send to the first text, for the answer being written. */
  firstTokenMs: number | null;
  sentAt: number | null;
}

/** One `chat.completion.chunk` as far as the playground reads it. */
export interface ChatChunk {
  choices?: Array<{
    delta?: { content?: string | null; tool_calls?: Array<{ index: number; id?: string; function?: { name?: string; arguments?: string } }> };
    finish_reason?: string | null;
  }>;
  usage?: ChatUsage | null;
  nimbus?: { actions?: DeviceAction[] };
}

export type ChatAction =
  | { type: 'send'; text: string; at: number }
  | { type: 'chunk'; chunk: ChatChunk; at: number }
  | { type: 'activity'; entry: AuditEntry }
  /** A server-run tool call as it starts and ends (the same id replaces the earlier view). */
  | { type: 'toolCall'; call: ToolCallView }
  | { type: 'citation'; citation: CitationView }
  | { type: 'passages'; passages: PassageView[] }
  /** A device action the server ran (or holds for approval) during a Responses turn. */
  | { type: 'deviceAction'; action: DeviceAction }
  | { type: 'done' }
  | { type: 'error'; message: string }
  | { type: 'reset' };

/** A conversation with nothing in it yet. */
export const emptyChat: ChatState = { messages: [], streaming: false, error: null, usage: null, firstTokenMs: null, sentAt: null };

const blankAnswer = (): ChatMessage => ({
  role: 'assistant',
  content: '',
  toolCalls: [],
  citations: [],
  passages: [],
  actions: [],
  activity: [],
  finishReason: null,
});

/** Replaces the last message (the answer being written) with `change(last)`. */
function withLast(state: ChatState, change: (message: ChatMessage) => ChatMessage): ChatState {
  const last = state.messages[state.messages.length - 1];
  if (!last || last.role !== 'assistant') return state;
  return { ...state, messages: [...state.messages.slice(0, -1), change(last)] };
}

function mergeToolCalls(
  calls: ToolCallView[],
  deltas: NonNullable<NonNullable<NonNullable<ChatChunk['choices']>[number]['delta']>['tool_calls']>,
): ToolCallView[] {
  const next = [...calls];
  for (const delta of deltas) {
    const current = next[delta.index] ?? { id: '', name: '', arguments: '' };
    next[delta.index] = {
      id: delta.id ?? current.id,
      name: current.name + (delta.function?.name ?? ''),
      arguments: current.arguments + (delta.function?.arguments ?? ''),
    };
  }
  return next;
}

/** The next state of the conversation after one action. */
export function chatReducer(state: ChatState, action: ChatAction): ChatState {
  switch (action.type) {
    case 'send':
      if (state.streaming) return state;
      return {
        ...state,
        messages: [...state.messages, { ...blankAnswer(), role: 'user', content: action.text }, blankAnswer()],
        streaming: true,
        error: null,
        usage: null,
        firstTokenMs: null,
        sentAt: action.at,
      };
    case 'chunk': {
      const choice = action.chunk.choices?.[0];
      const text = choice?.delta?.content ?? '';
      let next = withLast(state, (message) => ({
        ...message,
        content: message.content + text,
        toolCalls: choice?.delta?.tool_calls ? mergeToolCalls(message.toolCalls, choice.delta.tool_calls) : message.toolCalls,
        actions: action.chunk.nimbus?.actions ?? message.actions,
        finishReason: choice?.finish_reason ?? message.finishReason,
      }));
      if (text && next.firstTokenMs === null && next.sentAt !== null) next = { ...next, firstTokenMs: action.at - next.sentAt };
      return action.chunk.usage ? { ...next, usage: action.chunk.usage } : next;
    }
    case 'activity':
      if (!state.streaming) return state;
      return withLast(state, (message) =>
        message.activity.some((entry) => entry.id === action.entry.id) ? message : { ...message, activity: [...message.activity, action.entry] },
      );
    case 'toolCall':
      return withLast(state, (message) => {
        const at = message.toolCalls.findIndex((call) => call.id === action.call.id);
        const toolCalls = at >= 0 ? message.toolCalls.map((call, index) => (index === at ? action.call : call)) : [...message.toolCalls, action.call];
        return { ...message, toolCalls };
      });
    case 'citation':
      return withLast(state, (message) =>
        message.citations.some((citation) => citation.fileId === action.citation.fileId)
          ? message
          : { ...message, citations: [...message.citations, action.citation] },
      );
    case 'passages':
      return withLast(state, (message) => ({ ...message, passages: [...message.passages, ...action.passages] }));
    case 'deviceAction':
      return withLast(state, (message) => ({ ...message, actions: [...message.actions, action.action] }));
    case 'done':
      return { ...state, streaming: false };
    case 'error':
      return { ...state, streaming: false, error: action.message };
    case 'reset':
      return emptyChat;
    default:
      return state;
  }
}

/** The conversation as the API takes it: finished turns only, text only. */
export function requestMessages(state: ChatState): Array<{ role: 'user' | 'assistant'; content: string }> {
  return state.messages
    .filter((message) => message.role === 'user' || message.content !== '')
    .map((message) => ({ role: message.role, content: message.content }));
}
