/**
 * The longest delay a Node timer accepts: `setTimeout` fires at once for
 * anything longer, so every millisecond option that arms a timer is capped here.
 */
export const MAX_TIMER_MS = 2_147_483_647;
