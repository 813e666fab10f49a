import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { vehicleModel } from '../devices/sim/vehicle.js';
import { gamePersona, gameTools } from '../templates/game-character.js';
import { tutorFormats } from '../templates/tutor-quiz.js';
import { loadTemplate, templateNames } from './app-templates.js';

test('four templates, each an app configuration with a name and a model', () => {
  expect(templateNames()).toEqual(['game-character', 'in-car-assistant', 'literature-assistant', 'tutor']);
  for (const name of templateNames()) {
    const template = loadTemplate(name);
    expect(template.config).toMatchObject({ name, model: expect.any(String), instructions: expect.any(String) });
    expect(template.config).not.toHaveProperty('knowledge');
  }
  expect(() => loadTemplate('spaceship')).toThrow(/no template 'spaceship'; there are game-character, in-car-assistant/);
});

test('knowledge: the manual, the course and the abstracts; the game has none', () => {
  const count = (name: string) => loadTemplate(name).knowledge.length;
  expect([count('in-car-assistant'), count('tutor'), count('literature-assistant'), count('game-character')]).toEqual([6, 5, 24, 0]);
  expect(loadTemplate('literature-assistant').knowledge.every((path) => readFileSync(path, 'utf8').includes('Fictional abstract'))).toBe(true);
});

test('the YAML says what the code exports: the game tools and persona, the quiz formats, the car', () => {
  expect(loadTemplate('game-character').config).toMatchObject({ tools: gameTools, instructions: gamePersona, memory: true });
  const tutor = loadTemplate('tutor');
  expect(tutor.config).toMatchObject({ memory: true });
  expect(tutor.variants.map((variant) => [variant.suffix, variant.config.text])).toEqual([
    ['grading', { format: tutorFormats.grading }],
    ['quiz', { format: tutorFormats.quiz }],
  ]);
  expect(loadTemplate('game-character').variants).toEqual([]);
  expect(loadTemplate('in-car-assistant').config.devices).toEqual(['sim-vehicle-1']);
  expect(vehicleModel.title).toBe('Car');
});
