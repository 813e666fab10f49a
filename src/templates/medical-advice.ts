/**
 * Finds dosing and diagnosis advice in an answer, deterministically (issue 23, the literature
 * assistant): fixed patterns, no model, so the same answer always gets the same verdict and a
 * test can pin both what is caught and what is let through.
 *
 * Reporting what a study did ("participants received 400 IU daily") is not advice; telling the
 * reader what to take, how much is safe, or what they have is. So a dose quantity counts only
 * beside a cue aimed at the reader (you, your, an imperative, a recommendation), and a sentence
 * that refuses or redirects before the match ("I can't say whether you have ...") is not advice.
 */

/** Why an answer was refused. */
export type AdviceKind = 'dosing_advice' | 'diagnosis_advice';

/** One finding: the kind and the sentence it was found in. */
export interface AdviceFinding {
  kind: AdviceKind;
  sentence: string;
}

const doseQuantity =
  /\b\d+(?:[.,]\d+)?\s*(?:mg|milligrams?|mcg|micrograms?|µg|μg|g|grams?|ml|millilit(?:re|er)s?|iu|international units|units?|tablets?|pills?|capsules?|drops?|puffs?|sachets?|teaspoons?|tablespoons?)\b/i;
const readerCue =
  /\b(?:you|your|yourself)\b|\b(?:do\s+not|don't|never|avoid)\s+(?:take|taking|give|giving|use|using|exceed|exceeding)\b|(?:^|[,:;]\s*)(?:take|give|use|start|try|increase|reduce|lower|raise|double|halve|add|apply|inject|swallow|drink|chew|split)\b|\b(?:i|we)\s+(?:would\s+|'d\s+)?(?:recommend|suggest|advise)\b|\bshould\s+(?:take|use|be\s+taken|be\s+given)\b|\bit\s+is\s+(?:safe|fine|best|ok|okay)\s+to\s+(?:take|use)\b|\bthe\s+(?:right|correct|recommended)\s+amount\b/i;
const doseNoun = '(?:dose|doses|dosage|dosing|amount|intake)';
const recommendedDose = new RegExp(
  `\\b(?:recommended|safe|safest|maximum|max|optimal|right|correct|usual|typical|starting|effective|ideal|daily)\\s+(?:daily\\s+|adult\\s+)?${doseNoun}\\b`,
  'i',
);
const medicineWords = '(?:dose|medication|medicine|meds|pills?|tablets?|supplements?|capsules?|insulin|antibiotics?|painkillers?|drugs?)';
const imperativeMedicine = new RegExp(
  `(?:^\\s*|\\byou\\s+(?:should|must|need\\s+to|can|could)\\s+)(?:take|give|increase|double|halve|reduce|stop\\s+taking|start\\s+taking|keep\\s+taking|skip)\\b[^.!?]*\\b${medicineWords}\\b`,
  'i',
);

const conditionWords =
  '(?:disease|disorder|syndrome|infection|deficiency|deficient|diabetes|cancer|tumou?r|hypertension|high blood pressure|depression|anxiety|insomnia|apnoea|apnea|asthma|allergy|flu|influenza|covid|pneumonia|migraine|arthritis|anaemia|anemia|condition|illness|[a-z]+(?:itis|osis|emia|aemia|pathy))';
const youHave = new RegExp(
  `\\byou(?:'ve|\\s+have|\\s+(?:may|might|probably|likely|could|must|seem\\s+to|appear\\s+to|most\\s+likely)\\s+have|\\s+are\\s+likely\\s+to\\s+have|\\s+(?:are\\s+)?(?:probably\\s+|likely\\s+)?(?:suffering\\s+from|suffer\\s+from|developing|showing\\s+signs\\s+of))\\s+(?:got\\s+)?(?:an?\\s+|some\\s+|early\\s+)?(?:[\\w-]+\\s+){0,4}?${conditionWords}\\b`,
  'i',
);
const soundsLike = new RegExp(
  `\\b(?:sounds|looks|seems)\\s+like\\s+(?:you\\s+have|you've\\s+got|a\\s+case\\s+of|an?\\s+(?:[\\w-]+\\s+){0,2}?${conditionWords})\\b`,
  'i',
);
const yourSymptoms =
  /\byour\s+(?:symptoms|results|numbers|levels|readings|blood\s+pressure|test\s+results|blood\s+tests?|pain)\s+(?:suggest|suggests|indicate|indicates|mean|means|show|shows|point\s+to|points\s+to|are\s+consistent\s+with|is\s+consistent\s+with|are\s+a\s+sign\s+of|is\s+a\s+sign\s+of)\b/i;
const diagnoses =
  /\b(?:i|we)\s+(?:would\s+|can\s+|'d\s+)?diagnose\b|\bmy\s+diagnosis\b|\bthe\s+diagnosis\s+is\b|\byou\s+are\s+(?:probably\s+|likely\s+|clearly\s+)?(?:diabetic|anaemic|anemic|hypertensive|depressed|vitamin\s+\w+\s+deficient|deficient\s+in)\b/i;
/**
 * A refusal or redirection before the match makes the sentence safe ("I cannot tell whether you
 * have ...", "ask your doctor about the dose"); a prohibition aimed at the reader ("do not take
 * more than ...") is still advice, so only a refusal by the speaker counts.
 */
const refusalBefore =
  /\b(?:i|we)\s+(?:can't|cannot|can\s+not|won't|will\s+not|am\s+not\s+able\s+to|are\s+not\s+able\s+to|am\s+unable\s+to|are\s+unable\s+to|don't|do\s+not|shouldn't|should\s+not)\b|\b(?:only\s+a\s+(?:doctor|pharmacist|clinician)|ask\s+(?:a|your)\s+(?:doctor|pharmacist|clinician|gp|nurse)|consult|whether|no\s+way\s+to|not\s+possible\s+to|doesn't|does\s+not|did\s+not|didn't)\b/i;

function found(pattern: RegExp, sentence: string): boolean {
  const match = pattern.exec(sentence);
  return match !== null && !refusalBefore.test(sentence.slice(0, match.index));
}

/** Whether a sentence gives dosing advice. */
export function isDosingAdvice(sentence: string): boolean {
  if (found(recommendedDose, sentence) || found(imperativeMedicine, sentence)) return true;
  const quantity = doseQuantity.exec(sentence);
  return quantity !== null && readerCue.test(sentence) && !refusalBefore.test(sentence.slice(0, quantity.index));
}

/** Whether a sentence gives diagnosis advice. */
export function isDiagnosisAdvice(sentence: string): boolean {
  return [youHave, soundsLike, yourSymptoms, diagnoses].some((pattern) => found(pattern, sentence));
}

/** Typographic apostrophes as plain ones, so `can’t` reads as `can't`. */
export function straightQuotes(text: string): string {
  return text.replace(/[\u2018\u2019]/g, "'");
}

/** The sentences of a text: split at sentence ends and line breaks (bullets are sentences). */
export function sentencesOf(text: string): string[] {
  return text
    .split(/\n+/)
    .flatMap((line) => line.split(/(?<=[.!?])\s+(?=["'(\[A-Z0-9*-])/))
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

/** Every sentence of `text` that gives dosing or diagnosis advice. */
export function findMedicalAdvice(text: string): AdviceFinding[] {
  const findings: AdviceFinding[] = [];
  for (const sentence of sentencesOf(straightQuotes(text))) {
    if (isDosingAdvice(sentence)) findings.push({ kind: 'dosing_advice', sentence });
    else if (isDiagnosisAdvice(sentence)) findings.push({ kind: 'diagnosis_advice', sentence });
  }
  return findings;
}
