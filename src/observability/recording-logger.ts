import type { LogFields, Logger } from './logger.js';

/** One line a `RecordingLogger` kept: level, message and fields (with its bound fields merged in). */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/**
 * Keeps every line in memory, children included (they share one `entries`
 * array). For tests that assert what was logged, and how often.
 */
export class RecordingLogger implements Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly base: LogFields = {},
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  child(fields: LogFields): Logger {
    return new RecordingLogger(this.entries, { ...this.base, ...fields });
  }

  /** Entries whose message contains `text`, optionally of one level. */
  find(text: string, level?: LogEntry['level']): LogEntry[] {
    return this.entries.filter((e) => e.message.includes(text) && (level === undefined || e.level === level));
  }

  private write(level: LogEntry['level'], message: string, fields?: LogFields): void {
    this.entries.push({ level, message, fields: { ...this.base, ...fields } });
  }
}
