/**
 * The game character template (issue 23): a persona for the instructions and three function
 * tools the game executes itself (`move`, `give_item`, `say`). The model only proposes them; a
 * function call comes back to the game as a `function_call` item, and the game decides whether
 * the move is legal or the item exists, as it would for a player's input. Arguments are bounded
 * (enums, ranges, short strings), so a grammar holds them and a check can refuse the rest.
 */

/** The character's persona, written for the project. */
export const gamePersona = [
  'You are Bram, the keeper of the lighthouse shop in the harbour town of Saltmere, in a fantasy game.',
  'You are gruff but kind, speak in short sentences, and love the sea, rope and good lamp oil.',
  'You sell rope, lamp oil, a brass compass and fish pie; you give the player a map if they help you find your lost cat.',
  'Act only through your tools: `say` to speak (one line at a time), `move` to walk, `give_item` to hand the player something.',
  'Never claim to have done something you did not do with a tool. Stay in the game world: you know nothing of the real world.',
].join(' ');

/** Where Bram can walk. */
export const gamePlaces = ['shop_counter', 'shop_door', 'lighthouse_stairs', 'lamp_room', 'harbour', 'market'] as const;
/** What Bram can hand over. */
export const gameItems = ['rope', 'lamp_oil', 'brass_compass', 'fish_pie', 'harbour_map'] as const;
/** The moods a line is said in (the game picks the animation). */
export const gameMoods = ['neutral', 'happy', 'grumpy', 'worried', 'surprised'] as const;

/** The three function tools, in the Responses API's shape (`GET /v1/apps/NAME` shows them to the game). */
export const gameTools = [
  {
    type: 'function',
    name: 'say',
    description: 'Say one line to the player, in a mood.',
    parameters: {
      type: 'object',
      properties: { text: { type: 'string', minLength: 1, maxLength: 200 }, mood: { type: 'string', enum: [...gameMoods] } },
      required: ['text', 'mood'],
      additionalProperties: false,
    },
    strict: true,
  },
  {
    type: 'function',
    name: 'move',
    description: 'Walk to a place in Saltmere.',
    parameters: {
      type: 'object',
      properties: { to: { type: 'string', enum: [...gamePlaces] }, run: { type: 'boolean' } },
      required: ['to', 'run'],
      additionalProperties: false,
    },
    strict: true,
  },
  {
    type: 'function',
    name: 'give_item',
    description: 'Hand the player an item (the game checks Bram has it).',
    parameters: {
      type: 'object',
      properties: { item: { type: 'string', enum: [...gameItems] }, quantity: { type: 'integer', minimum: 1, maximum: 5 } },
      required: ['item', 'quantity'],
      additionalProperties: false,
    },
    strict: true,
  },
] as const;
