/**
 * An app's playground: a conversation with the live version through `POST
 * /v1/apps/NAME/responses`, streamed, with what the playground shows of a Responses turn (its
 * event handling, chat/stream-response.ts): the passages its searches found, the citations, the
 * tool calls and the device actions as they run. The app decides instructions, tools and sampling,
 * so the page sends only the conversation, an output cap, and the end user (for the app's memory).
 * A function call is the app's client's to run: the turn ends there, showing it.
 */
import { useEffect, useReducer, useRef, useState, type FormEvent } from 'react';
import type { AppView } from '../api/types.js';
import { ChatMessages } from '../chat/chat-messages.js';
import { chatReducer, emptyChat, requestMessages } from '../chat/chat-state.js';
import { streamResponseTurn } from '../chat/stream-response.js';
import { ErrorNote } from '../ui/error-note.js';

const clock = (): number => performance.now();

export function AppPlayground({ app, onAnswered }: { app: AppView; onAnswered: () => void }) {
  const [chat, dispatch] = useReducer(chatReducer, emptyChat);
  const [text, setText] = useState('');
  const [user, setUser] = useState('');
  const [maxTokens, setMaxTokens] = useState(256);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  // Another app is another conversation.
  useEffect(() => {
    abort.current?.abort();
    dispatch({ type: 'reset' });
  }, [app.name]);

  const send = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    if (!text.trim() || chat.streaming) return;
    const input = [...requestMessages(chat), { role: 'user' as const, content: text }];
    dispatch({ type: 'send', text, at: clock() });
    setText('');
    abort.current = new AbortController();
    const body = { input, stream: true, store: false, include: ['file_search_call.results'], max_output_tokens: maxTokens, ...(user ? { user } : {}) };
    try {
      await streamResponseTurn(`/v1/apps/${encodeURIComponent(app.name)}/responses`, body, dispatch, abort.current.signal, clock);
      dispatch({ type: 'done' });
    } catch (failure) {
      if (abort.current.signal.aborted) dispatch({ type: 'done' });
      else dispatch({ type: 'error', message: (failure as Error).message });
    } finally {
      onAnswered();
    }
  };

  return (
    <section className="panel" aria-label="Try the app">
      <h2>Try {app.model}</h2>
      <div className="row">
        <label>
          End user (for the app&apos;s memory)
          <input name="end-user" value={user} placeholder="none" onChange={(event) => setUser(event.target.value)} />
        </label>
        <label>
          Max tokens
          <input name="app-max-tokens" type="number" min={1} max={4096} value={maxTokens} onChange={(event) => setMaxTokens(Number(event.target.value))} />
        </label>
        <button
          type="button"
          className="quiet"
          onClick={() => {
            abort.current?.abort();
            dispatch({ type: 'reset' });
          }}
        >
          New conversation
        </button>
        <span className="muted">Runs the live version ({app.live_version}).</span>
      </div>
      <ChatMessages chat={chat} speaker={app.model} />
      <ErrorNote error={chat.error} />
      {chat.usage && (
        <p className="muted" data-testid="chat-usage">
          {chat.usage.prompt_tokens} prompt + {chat.usage.completion_tokens} completion tokens
          {chat.firstTokenMs !== null && ` · first token after ${Math.round(chat.firstTokenMs)} ms`}
        </p>
      )}
      <form onSubmit={(event) => void send(event)} className="row">
        <label>
          Message
          <textarea name="app-message" rows={2} value={text} onChange={(event) => setText(event.target.value)} />
        </label>
        <button type="submit" disabled={chat.streaming || !text.trim()}>
          Send
        </button>
        {chat.streaming && (
          <button type="button" className="quiet" onClick={() => abort.current?.abort()}>
            Stop
          </button>
        )}
      </form>
    </section>
  );
}
