/**
 * A conversation as the playground and the Apps page show it: each answer with its citations
 * inline and listed, the passages its searches found, its tool calls, the device activity seen
 * live and the device actions' outcomes (drawn by `renderAction`, which the playground gives its
 * approve buttons), and "Writing…" while the answer streams.
 */
import type { ReactNode } from 'react';
import type { DeviceAction } from '../api/types.js';
import type { ChatState } from './chat-state.js';
import { Citations, CitedText } from './citations.js';

/** An action's outcome in one line, for pages with nothing to do about it. */
export function ActionLine({ action }: { action: DeviceAction }) {
  return (
    <li>
      <span className={`badge ${action.status}`}>{action.status}</span> {action.device} {action.kind} {action.name ?? ''}: {action.message}
    </li>
  );
}

export function ChatMessages({
  chat,
  speaker,
  renderAction = (action, index) => <ActionLine key={index} action={action} />,
}: {
  chat: ChatState;
  /** Who answers (the model or the app), over each answer. */
  speaker: string;
  renderAction?: (action: DeviceAction, index: number) => ReactNode;
}) {
  return (
    <div className="chat" aria-live="polite" data-testid="chat">
      {chat.messages.map((message, index) => (
        <article key={index} className={`message ${message.role}`}>
          <span className="role">{message.role === 'user' ? 'You' : speaker}</span>
          <span data-testid={message.role === 'assistant' ? 'answer' : undefined}>
            {message.citations.length > 0 ? <CitedText text={message.content} citations={message.citations} /> : message.content}
          </span>
          {message.citations.length > 0 && <Citations citations={message.citations} />}
          {message.toolCalls.length > 0 && (
            <div className="activity">
              Tool calls:
              {message.toolCalls.map((call) => (
                <div key={call.id || call.name}>
                  <code>
                    {call.name}({call.arguments})
                  </code>
                </div>
              ))}
            </div>
          )}
          {message.passages.length > 0 && (
            <details className="passages" open data-testid="passages">
              <summary>Passages found ({message.passages.length})</summary>
              <ol>
                {message.passages.map((passage, passageIndex) => (
                  <li key={passageIndex}>
                    <strong>{passage.filename}</strong> <span className="muted">score {passage.score.toFixed(3)}</span>
                    <blockquote>{passage.text}</blockquote>
                  </li>
                ))}
              </ol>
            </details>
          )}
          {message.activity.length > 0 && (
            <ul className="activity" aria-label="Device activity">
              {message.activity.map((entry) => (
                <li key={entry.id}>
                  <span className="badge">{entry.event}</span> {entry.device ?? ''} {String(entry.detail.name ?? entry.detail.kind ?? '')}
                </li>
              ))}
            </ul>
          )}
          {message.actions.length > 0 && (
            <ul className="activity" aria-label="Device actions">
              {message.actions.map((action, actionIndex) => renderAction(action, actionIndex))}
            </ul>
          )}
        </article>
      ))}
      {chat.streaming && <p className="muted">Writing…</p>}
    </div>
  );
}
