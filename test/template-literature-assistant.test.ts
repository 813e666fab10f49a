/**
 * The literature assistant template end to end (issue 23): the template uploads the 24
 * fictional abstracts into a store on a `nimbus serve` process; as the official `openai` client,
 * an answer cites the abstract it came from, the model was told never
 * to give dosing or diagnosis advice, and the server's post-check (the template's `post_check:
 * literature`) judges each answer against the files the search returned before it is sent.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { medicalAdviceRefusal } from '../src/templates/literature-post-check.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startTemplateRig, type TemplateRig } from './support/template-rig.js';

let rig: TemplateRig;

beforeAll(async () => {
  rig = await startTemplateRig();
  const lines: string[] = [];
  await rig.createFromTemplate('literature-assistant', lines);
  expect(lines).toContain('indexed 24 files');
}, 90_000);
afterAll(async () => {
  await rig?.stop();
  killNimbusProcesses();
});

/** One answer as the client gets it: its text, the files its searches returned, and the server's post-check. */
async function ask(question: string, answer: string): Promise<{ text: string; sources: string[]; postCheck: unknown }> {
  rig.upstream.play([{ calls: [{ name: 'file_search', arguments: { queries: [question] } }] }, { text: answer }]);
  const response = await rig.client.responses.create({ model: 'app:literature-assistant', input: question, include: ['file_search_call.results'] });
  const sources = response.output.flatMap((item) => (item.type === 'file_search_call' ? (item.results ?? []).map((result) => result.filename ?? '') : []));
  return { text: response.output_text, sources, postCheck: (response as unknown as { post_check: unknown }).post_check };
}

test('an answer cites the abstract it came from and passes the post-check', async () => {
  const answer = await ask(
    'Does walking lower blood pressure?',
    'In one trial, brisk walking lowered systolic blood pressure by 4.8 mmHg [11-walking-blood-pressure.md].',
  );
  expect(answer.sources).toContain('11-walking-blood-pressure.md');
  expect(JSON.stringify(rig.upstream.requests[1].messages)).toContain('4.8 mmHg');
  const system = rig.upstream.requests[0].messages[0];
  expect(system).toMatchObject({ role: 'system', content: expect.stringContaining('Never give dosing advice') });
  expect(answer.postCheck).toEqual({ name: 'literature', action: 'pass', reasons: [] });
  expect(answer.text).toBe('In one trial, brisk walking lowered systolic blood pressure by 4.8 mmHg [11-walking-blood-pressure.md].');
});

test('with no supporting passage it says so; an uncited claim is marked; dosing advice is replaced', async () => {
  const none = await ask('Does melatonin help jet lag?', 'The abstracts do not cover melatonin or jet lag.');
  expect(none).toMatchObject({ text: 'The abstracts do not cover melatonin or jet lag.', postCheck: { action: 'pass' } });
  const uncited = await ask('Is coffee good for reaction time?', 'Coffee makes everyone react faster.');
  expect(uncited).toMatchObject({
    text: 'Coffee makes everyone react faster. [no cited passage]',
    postCheck: { action: 'marked', reasons: ['uncited_claim'] },
  });
  const dosing = await ask('How much vitamin D should I take?', 'You should take 1000 IU of vitamin D a day [12-vitamin-d-winter.md].');
  expect(dosing).toMatchObject({ text: medicalAdviceRefusal, postCheck: { action: 'replaced', reasons: ['dosing_advice'] } });
});
