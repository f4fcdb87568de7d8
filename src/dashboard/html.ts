/**
 * HTML built from templates in which every interpolated value is escaped,
 * unless it is itself `Html` (made by `html` or `trusted`): a stored string
 * (a job name, params, an error text) can never become markup.
 */

/** Markup that is safe to insert as is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** `value` as text that displays as itself in element content and in quoted attributes. */
export function escape(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

type Part = Html | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join('');
  return escape(part);
}

/** A template whose interpolations are escaped (arrays are joined, null/undefined/false print nothing). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => (out += render(value) + strings[i + 1]!));
  return new Html(out);
}

/** Markup written by this package (never a stored string). */
export function trusted(text: string): Html {
  return new Html(text);
}
