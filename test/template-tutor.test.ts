/**
 * The tutor template end to end (issue 23): the template makes three apps on one store of the
 * course notes (tutor, tutor-quiz, tutor-grading) on a `nimbus serve` process; as the official
 * `openai` client, a student's question is answered from the notes with the lesson
 * cited and remembered for that student, and the quiz and grading apps answer JSON of their
 * schemas (sent to the model as its response format; the grammar holding them on a real engine
 * is test/template-formats.test.ts).
 */
import { Ajv } from 'ajv';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { tutorFormats } from '../src/templates/tutor-quiz.js';
import { killNimbusProcesses } from './support/nimbus-process.js';
import { startTemplateRig, type TemplateRig } from './support/template-rig.js';

let rig: TemplateRig;

beforeAll(async () => {
  rig = await startTemplateRig();
  const lines: string[] = [];
  const created = await rig.createFromTemplate('tutor', lines);
  expect(created.apps.map((app) => app.name)).toEqual(['tutor', 'tutor-grading', 'tutor-quiz']);
  expect(lines).toContain('indexed 5 files');
}, 90_000);
afterAll(async () => {
  await rig?.stop();
  killNimbusProcesses();
});

test('three apps share the course notes', async () => {
  const apps = (await rig.server.api(rig.operator, 'GET', '/v1/apps')).body.data as Array<{ name: string; config: { vector_store_ids: string[] } }>;
  const tutors = apps.filter((app) => app.name.startsWith('tutor')).sort((a, b) => a.name.localeCompare(b.name));
  expect(tutors.map((app) => app.name)).toEqual(['tutor', 'tutor-grading', 'tutor-quiz']);
  expect(new Set(tutors.map((app) => app.config.vector_store_ids[0])).size).toBe(1);
});

test('an answer from the notes cites the lesson, and the student is remembered', async () => {
  rig.upstream.play([
    { calls: [{ name: 'file_search', arguments: { queries: ['median outliers'] } }] },
    { text: 'The median hardly moves when an extreme value changes [lesson-1-averages.md].' },
  ]);
  const answer = await rig.client.responses.create({ model: 'app:tutor', input: 'Why use the median?', user: 'student-3' }, {});
  expect(answer.output_text).toBe('The median hardly moves when an extreme value changes [lesson-1-averages.md].');
  const message = answer.output.find((item) => item.type === 'message');
  const annotations = message?.type === 'message' && message.content[0]?.type === 'output_text' ? message.content[0].annotations : [];
  expect(annotations).toContainEqual(expect.objectContaining({ type: 'file_citation', filename: 'lesson-1-averages.md' }));
  expect(JSON.stringify(rig.upstream.requests[1].messages)).toContain('hardly moves when an extreme value changes');
  const memory = (await rig.server.api(rig.operator, 'GET', '/v1/apps/tutor/memory/student-3')).body;
  expect(memory.turns).toEqual([{ user: 'Why use the median?', assistant: answer.output_text }]);
});

test('quiz mode and grading answer JSON of their schemas', async () => {
  const quiz = { questions: [{ lesson: 'averages', question: 'What is the median of 2, 4, 4, 5, 10?', choices: ['4', '5', '25'], answer: 0 }] };
  const grading = { grades: [{ question: 1, correct: true, feedback: 'Right: the middle value is 4.' }], score: 1, covered: ['averages'] };
  for (const [mode, value] of [
    ['quiz', quiz],
    ['grading', grading],
  ] as const) {
    rig.upstream.play([{ text: JSON.stringify(value) }]);
    const answer = await rig.client.responses.create({ model: `app:tutor-${mode}`, input: mode === 'quiz' ? 'Quiz me on averages' : 'My answer to 1: 4' });
    const ajv = new Ajv();
    expect(ajv.validate(tutorFormats[mode].schema, JSON.parse(answer.output_text)), ajv.errorsText()).toBe(true);
    expect(rig.upstream.requests[0].response_format).toMatchObject({ type: 'json_schema', json_schema: { name: tutorFormats[mode].name } });
  }
});
