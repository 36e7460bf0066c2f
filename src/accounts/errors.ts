/**
 * One error type for the accounts core, with a stable code the API maps to an HTTP status (api/errors.ts) and
 * the CLI prints as one line. Messages are safe to show: no hashes, secrets or internals.
 */
export type AccountsErrorCode = 'not_found' | 'conflict' | 'validation_failed' | 'forbidden';

export class AccountsError extends Error {
  readonly code: AccountsErrorCode;
  /** For validation errors: the field at fault. */
  readonly field?: string;
  constructor(code: AccountsErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}
