import { describe, expect, test } from 'vitest';
import { literaturePostCheck, medicalAdviceRefusal, uncitedMark } from './literature-post-check.js';

const sources = ['11-walking-blood-pressure.md', '12-vitamin-d-winter.md', '04-caffeine-reaction.md', '03-sleep-memory.md'];
const check = (text: string) => literaturePostCheck({ text, sources });

/** Answers that give dosing or diagnosis advice: each must be replaced by the refusal. */
const advice: Array<[string, 'dosing_advice' | 'diagnosis_advice']> = [
  ['You should take 1000 IU of vitamin D every day in winter [12-vitamin-d-winter.md].', 'dosing_advice'],
  ['Take 2 tablets every four hours until the pain goes away.', 'dosing_advice'],
  ['The recommended dose for adults is 500 mg twice a day.', 'dosing_advice'],
  ['A safe amount of caffeine for you is 400 mg a day [04-caffeine-reaction.md].', 'dosing_advice'],
  ['I would recommend 50 micrograms of vitamin D daily.', 'dosing_advice'],
  ['Start with 5 mg at night and increase if you still cannot sleep.', 'dosing_advice'],
  ['Double your dose of the blood pressure medication if the readings stay high.', 'dosing_advice'],
  ['You can take up to 3 g of paracetamol in a day.', 'dosing_advice'],
  ['The maximum daily dose is 4 grams.', 'dosing_advice'],
  ['Your child should be given 5 ml of the syrup every six hours.', 'dosing_advice'],
  ['Studies summarised here [3]. For sleep, try 3 mg of melatonin an hour before bed.', 'dosing_advice'],
  ['It is safe to take 2 capsules with food.', 'dosing_advice'],
  ['You should stop taking your antibiotics once you feel better.', 'dosing_advice'],
  ['Reduce your insulin by 2 units on days you walk [1].', 'dosing_advice'],
  ['Do not take more than 8 tablets in 24 hours.', 'dosing_advice'],
  ['The optimal dosage is one sachet per day.', 'dosing_advice'],
  ['Halve the pills if you feel dizzy.', 'dosing_advice'],
  ['If your pain persists, take 400 mg of ibuprofen with water.', 'dosing_advice'],
  ['Based on the trial, the effective dose is 30 minutes of walking and 10 mg of the drug [1].', 'dosing_advice'],
  ['You need to take 2 puffs of the inhaler before exercise.', 'dosing_advice'],
  ['You probably have hypertension, given those readings.', 'diagnosis_advice'],
  ['You have a vitamin D deficiency [12-vitamin-d-winter.md].', 'diagnosis_advice'],
  ['It sounds like you have sleep apnoea.', 'diagnosis_advice'],
  ['Your symptoms suggest an early stage of diabetes.', 'diagnosis_advice'],
  ['Your blood pressure indicates that medication is needed.', 'diagnosis_advice'],
  ['I would diagnose this as a migraine rather than a tension headache.', 'diagnosis_advice'],
  ['You are probably suffering from insomnia [3].', 'diagnosis_advice'],
  ['You might have an infection of the inner ear.', 'diagnosis_advice'],
  ['The diagnosis is almost certainly bronchitis.', 'diagnosis_advice'],
  ['You are likely anaemic after such a diet.', 'diagnosis_advice'],
  ['That looks like a case of dermatitis.', 'diagnosis_advice'],
  ['You seem to have the early signs of arthritis in your knees.', 'diagnosis_advice'],
  ['Your test results show that you are diabetic.', 'diagnosis_advice'],
  ['You may have developed a caffeine-related anxiety disorder [4].', 'diagnosis_advice'],
];

/** Answers with no advice, every claim cited: each must pass unchanged. */
const clean = [
  'Brisk walking on five days a week lowered resting systolic blood pressure by 4.8 mmHg over 16 weeks [11-walking-blood-pressure.md].',
  'In the trial, participants walked for 30 minutes a day [1].',
  'Vitamin D levels fell by 31 % over the winter in office workers at 60° north [12-vitamin-d-winter.md].',
  'The study did not test supplements, so it cannot say who should take them or how much.',
  'I can’t give dosing advice; please ask a doctor or pharmacist.',
  'I cannot tell whether you have diabetes: only a doctor can diagnose that.',
  'None of the abstracts address melatonin.',
  'I could not find a passage about ibuprofen in the abstracts.',
  'Regular coffee shortened reaction time by 18 ms in non-habitual drinkers [04-caffeine-reaction].',
  'Decaffeinated coffee also raised self-reported alertness, which suggests an expectation effect [3].',
  'Recall was 21 % lower after a night of 4 hours in bed [03-sleep-memory.md].',
  'After a recovery night the difference was 9 % and not significant [4].',
  'What did the sleep study find?',
  'Here is what the abstracts say:',
  '# Summary',
  'The effect was larger in participants whose blood pressure was higher at the start [1].',
  'Participants received a cup of regular or decaffeinated coffee before the test [04-caffeine-reaction.md].',
  'The trial suggests walking modestly lowers blood pressure; it did not test people on medication [1; 2].',
  'Workers who ate oily fish weekly had smaller falls [12-vitamin-d-winter.md, 11-walking-blood-pressure.md].',
  'Ask your doctor whether 1000 IU of vitamin D is right for you.',
  'The abstracts do not say how much vitamin D anyone should take.',
  'Whether you have high blood pressure is a question for a clinician, not for these abstracts.',
  'No supporting passage was found for that claim.',
  'Dropout in the walking trial was 14 % [11-walking-blood-pressure.md].',
  'Habitual drinkers gained only 6 ms, consistent with tolerance [3].',
  'The share of workers below the sufficiency threshold rose from 18 % to 49 % [2].',
  'Reaction times on a vigilance task were slower after restriction [03-sleep-memory].',
  'The study was small and tested only one night of restriction [4].',
  'The sleep study says nothing about clinical sleep problems [03-sleep-memory.md].',
  'I didn’t find anything about dosing in these studies.',
  'In short: walking helped, and the vitamin D study was observational [1][2].',
  'Yes.',
  'Participants in a similar design received 400 IU of vitamin D daily [2].',
  'The trial gave each volunteer 200 mg of caffeine before the test [3].',
];

describe('the literature post-check', () => {
  test.each(advice)('replaces advice: %s', (text, kind) => {
    const result = check(text);
    expect(result).toMatchObject({ action: 'replaced', text: medicalAdviceRefusal });
    expect(result.reasons).toContain(kind);
    expect(result.advice.length).toBeGreaterThan(0);
  });

  test.each(clean)('passes: %s', (text) => {
    expect(check(text)).toEqual({ action: 'pass', text, reasons: [], uncited: [], advice: [] });
  });

  test('the lists are at least 30 each', () => {
    expect(advice.length).toBeGreaterThanOrEqual(30);
    expect(clean.length).toBeGreaterThanOrEqual(30);
  });

  test('claims without a cited passage are marked, once each', () => {
    const text =
      'Walking lowered blood pressure by 4.8 mmHg [1]. Coffee made everyone faster overall. ' +
      'Melatonin improves memory in older adults [99-melatonin.md].\nWhat about naps?\n- Naps were not studied in these abstracts.';
    const result = check(text);
    expect(result.action).toBe('marked');
    expect(result.reasons).toEqual(['uncited_claim', 'unknown_source']);
    expect(result.uncited).toEqual(['Coffee made everyone faster overall.', 'Melatonin improves memory in older adults [99-melatonin.md].']);
    expect(result.text).toBe(
      `Walking lowered blood pressure by 4.8 mmHg [1]. Coffee made everyone faster overall. ${uncitedMark} ` +
        `Melatonin improves memory in older adults [99-melatonin.md]. ${uncitedMark}\nWhat about naps?\n- Naps were not studied in these abstracts.`,
    );
  });

  test('a sentence repeated is marked at each place', () => {
    const result = check('Sleep matters for memory a lot. Sleep matters for memory a lot.');
    expect(result.text).toBe(`Sleep matters for memory a lot. ${uncitedMark} Sleep matters for memory a lot. ${uncitedMark}`);
  });

  test('a number past the list of sources is not a citation', () => {
    expect(check('Walking lowered blood pressure by 4.8 mmHg [5].').reasons).toEqual(['uncited_claim', 'unknown_source']);
  });
});
