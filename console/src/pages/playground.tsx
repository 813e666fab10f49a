import { useEffect, useReducer, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api, list } from '../api/client.js';
import type { DeviceAction, ModelInfo, VectorStore } from '../api/types.js';
import { ChatMessages } from '../chat/chat-messages.js';
import { chatReducer, emptyChat, requestMessages } from '../chat/chat-state.js';
import { streamChat } from '../chat/stream-chat.js';
import { streamKnowledgeTurn } from '../chat/stream-response.js';
import { useConsole, useLoad } from '../live/console-context.js';
import { ErrorNote } from '../ui/error-note.js';

/** Milliseconds on the page's clock (for the time to the first token). */
const clock = (): number => performance.now();

const newConversation = (): string => `console-${Math.random().toString(36).slice(2, 10)}`;

/** An action that needs a person: approve or deny it here (admin keys), then ask again. */
function ActionOutcome({ action, onApproved }: { action: DeviceAction; onApproved: (approval: string) => void }) {
  const { me } = useConsole();
  const [error, setError] = useState<string | null>(null);
  const [decided, setDecided] = useState<string | null>(null);
  const decide = async (grant: boolean): Promise<void> => {
    try {
      await api('POST', `/v1/approvals/${action.approval}/${grant ? 'grant' : 'deny'}`, { via: 'console' });
      setDecided(grant ? 'granted' : 'denied');
      if (grant) onApproved(action.approval!);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <li>
      <span className={`badge ${action.status}`}>{action.status}</span> {action.device} {action.kind} {action.name ?? ''}: {action.message}
      {action.status === 'approval_required' && action.approval && me.scopes.admin && !me.local && (
        <span className="muted" data-testid="waiting-for-another-admin">
          {' '}
          · waiting for another admin: this key asked, so it cannot approve its own command.
        </span>
      )}
      {action.status === 'approval_required' && action.approval && me.scopes.admin && me.local && !decided && (
        <span className="row">
          <button type="button" onClick={() => void decide(true)}>
            Approve {action.approval}
          </button>
          <button type="button" className="quiet" onClick={() => void decide(false)}>
            Deny
          </button>
        </span>
      )}
      {decided && <span className="muted"> · {decided}</span>}
      {action.status === 'approval_required' && !me.scopes.admin && <span className="muted"> · an admin must approve it on the Approvals page.</span>}
      <ErrorNote error={error} />
    </li>
  );
}

/**
 * Playground: streaming chat, parameters, and the device actions a model takes; with "Use
 * knowledge", each turn searches the chosen vector stores through /v1/responses first and the
 * answer shows the search as it runs and the files it cites.
 */
export function PlaygroundPage() {
  const { me, live } = useConsole();
  const models = useLoad(() => list<ModelInfo>('/v1/models'));
  const [model, setModel] = useState('');
  const [temperature, setTemperature] = useState(0.7);
  const [maxTokens, setMaxTokens] = useState(128);
  const [topP, setTopP] = useState(0.95);
  const [useDevices, setUseDevices] = useState(false);
  const [useKnowledge, setUseKnowledge] = useState(false);
  const [storeIds, setStoreIds] = useState<string[]>([]);
  const knowledgeAllowed = me.scopes.inference;
  // Read when the switch is turned on (and again each time), so a store made meanwhile is listed.
  const stores = useLoad(() => (useKnowledge ? list<VectorStore>('/v1/vector_stores?limit=100') : Promise.resolve([])), useKnowledge);
  const [text, setText] = useState('');
  const [chat, dispatch] = useReducer(chatReducer, emptyChat);
  const conversation = useRef(newConversation());
  const abort = useRef<AbortController | null>(null);
  const approvals = useRef<string[]>([]);
  const devicesAllowed = me.devices_enabled && (me.scopes.devices === '*' || me.scopes.devices.length > 0);

  useEffect(() => {
    if (!model && models.data?.[0]) setModel(models.data[0].id);
  }, [models.data, model]);
  useEffect(() => {
    if (storeIds.length === 0 && stores.data?.[0]) setStoreIds([stores.data[0].id]);
  }, [stores.data, storeIds.length]);
  // Device activity of this conversation, live from the feed (admin keys see the audit stream).
  useEffect(() => live.watchAudit((entry) => entry.conversation === conversation.current && dispatch({ type: 'activity', entry })), [live]);
  useEffect(() => () => abort.current?.abort(), []);

  const send = async (message: string): Promise<void> => {
    if (!message.trim() || chat.streaming || !model) return;
    const before = requestMessages(chat);
    dispatch({ type: 'send', text: message, at: clock() });
    setText('');
    abort.current = new AbortController();
    try {
      if (useKnowledge) {
        const turn = { model, messages: [...before, { role: 'user' as const, content: message }], vectorStoreIds: storeIds, temperature, maxTokens, topP };
        await streamKnowledgeTurn(turn, dispatch, abort.current.signal, clock);
        dispatch({ type: 'done' });
        return;
      }
      await streamChat(
        {
          model,
          messages: [...before, { role: 'user', content: message }],
          temperature,
          max_tokens: maxTokens,
          top_p: topP,
          ...(useDevices
            ? { nimbus: { devices: true, conversation: conversation.current, ...(approvals.current.length ? { approvals: approvals.current } : {}) } }
            : {}),
        },
        (chunk) => dispatch({ type: 'chunk', chunk, at: clock() }),
        abort.current.signal,
      );
      dispatch({ type: 'done' });
    } catch (failure) {
      // Stop (or leaving the page) ends the answer where it is; that is not an error.
      if (abort.current.signal.aborted) dispatch({ type: 'done' });
      else dispatch({ type: 'error', message: (failure as Error).message });
    }
  };
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    void send(text);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (event.key === 'Enter' && !event.shiftKey) {
      event.preventDefault();
      void send(text);
    }
  };
  const lastUser = [...chat.messages].reverse().find((message) => message.role === 'user');

  return (
    <>
      <h1>Playground</h1>
      <section className="panel row" aria-label="Model and parameters">
        <label>
          Model
          <select aria-label="Model" value={model} onChange={(event) => setModel(event.target.value)}>
            {(models.data ?? []).map((option) => (
              <option key={option.id} value={option.id}>
                {option.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Temperature {temperature}
          <input type="range" min={0} max={2} step={0.1} value={temperature} onChange={(event) => setTemperature(Number(event.target.value))} />
        </label>
        <label>
          Top p {topP}
          <input type="range" min={0.05} max={1} step={0.05} value={topP} onChange={(event) => setTopP(Number(event.target.value))} />
        </label>
        <label>
          Max tokens
          <input type="number" min={1} max={4096} value={maxTokens} onChange={(event) => setMaxTokens(Number(event.target.value))} />
        </label>
        {knowledgeAllowed && (
          <label className="inline">
            <input type="checkbox" checked={useKnowledge} disabled={useDevices} onChange={(event) => setUseKnowledge(event.target.checked)} />
            Use knowledge
          </label>
        )}
        {useKnowledge && (
          <label>
            Vector stores
            <select
              aria-label="Vector stores"
              multiple
              size={Math.min(4, Math.max(2, stores.data?.length ?? 0))}
              value={storeIds}
              onChange={(event) => setStoreIds([...event.target.selectedOptions].map((option) => option.value))}
            >
              {(stores.data ?? []).map((store) => (
                <option key={store.id} value={store.id}>
                  {store.name ?? store.id}
                </option>
              ))}
            </select>
            {stores.data?.length === 0 && <span className="muted">No vector stores yet: create one on the Knowledge page.</span>}
          </label>
        )}
        {devicesAllowed && (
          <label className="inline">
            <input type="checkbox" checked={useDevices} disabled={useKnowledge} onChange={(event) => setUseDevices(event.target.checked)} />
            Let the model act on my devices
          </label>
        )}
        <button
          type="button"
          className="quiet"
          onClick={() => {
            abort.current?.abort();
            conversation.current = newConversation();
            approvals.current = [];
            dispatch({ type: 'reset' });
          }}
        >
          New conversation
        </button>
      </section>
      <ErrorNote error={models.error} />
      <ErrorNote error={stores.error} />
      <ChatMessages
        chat={chat}
        speaker={model}
        renderAction={(action, actionIndex) => (
          <ActionOutcome
            key={actionIndex}
            action={action}
            onApproved={(approval) => {
              approvals.current = [...approvals.current, approval];
              if (lastUser) void send(lastUser.content);
            }}
          />
        )}
      />
      <ErrorNote error={chat.error} />
      {chat.usage && (
        <p className="muted" data-testid="chat-usage">
          {chat.usage.prompt_tokens} prompt + {chat.usage.completion_tokens} completion tokens
          {chat.firstTokenMs !== null && ` · first token after ${Math.round(chat.firstTokenMs)} ms`}
        </p>
      )}
      <form onSubmit={submit} className="panel">
        <label>
          Message (Enter sends, Shift+Enter for a new line)
          <textarea name="message" rows={3} value={text} onChange={(event) => setText(event.target.value)} onKeyDown={onKeyDown} />
        </label>
        <div className="row">
          <button type="submit" disabled={chat.streaming || !text.trim() || !model || (useKnowledge && storeIds.length === 0)}>
            Send
          </button>
          {chat.streaming && (
            <button type="button" className="quiet" onClick={() => abort.current?.abort()}>
              Stop
            </button>
          )}
        </div>
      </form>
    </>
  );
}
