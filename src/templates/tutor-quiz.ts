/**
 * The tutor's quiz mode (issue 23): two `json_schema` output formats, one for a quiz (questions
 * with their choices and the right one) and one for grading a student's answers, so the client
 * gets objects it can render and score, held by grammar on llama engines and checked against
 * the schema on every engine. Strings and lists are bounded: a model cannot run a quiz past the
 * client's screen, and a small model's context holds the grammar's output.
 */

/** The lessons of the template's course (its knowledge files), for the `lesson` fields. */
export const tutorLessons = ['averages', 'spread', 'distributions', 'correlation', 'sampling'] as const;

/** A quiz: 1 to 5 multiple-choice questions, each naming its lesson and the right choice. */
export const quizSchema = {
  type: 'object',
  properties: {
    questions: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      items: {
        type: 'object',
        properties: {
          lesson: { type: 'string', enum: [...tutorLessons] },
          question: { type: 'string', minLength: 1, maxLength: 160 },
          choices: { type: 'array', minItems: 2, maxItems: 4, items: { type: 'string', minLength: 1, maxLength: 60 } },
          answer: { type: 'integer', minimum: 0, maximum: 3 },
        },
        required: ['lesson', 'question', 'choices', 'answer'],
        additionalProperties: false,
      },
    },
  },
  required: ['questions'],
  additionalProperties: false,
} as const;

/** A grading of a student's answers: per question whether it was right and why, and the total. */
export const gradingSchema = {
  type: 'object',
  properties: {
    grades: {
      type: 'array',
      minItems: 1,
      maxItems: 5,
      items: {
        type: 'object',
        properties: {
          question: { type: 'integer', minimum: 1, maximum: 5 },
          correct: { type: 'boolean' },
          feedback: { type: 'string', minLength: 1, maxLength: 200 },
        },
        required: ['question', 'correct', 'feedback'],
        additionalProperties: false,
      },
    },
    score: { type: 'integer', minimum: 0, maximum: 5 },
    covered: { type: 'array', maxItems: 5, items: { type: 'string', enum: [...tutorLessons] } },
  },
  required: ['grades', 'score', 'covered'],
  additionalProperties: false,
} as const;

/** The Responses `text.format` of each mode (`text: { format }` on a request; chat's `response_format` takes `json_schema` of the same). */
export const tutorFormats = {
  quiz: { type: 'json_schema', name: 'tutor_quiz', schema: quizSchema, strict: true },
  grading: { type: 'json_schema', name: 'tutor_grading', schema: gradingSchema, strict: true },
} as const;
