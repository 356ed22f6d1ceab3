/**
 * An error a client of the lab API can meet: one of the contract's API_ERRORS (its code and HTTP
 * status) and a sentence for a person that says what happened and what to do. Thrown anywhere
 * below a request; the server answers it as JSON. Nothing else here.
 */
import type { ApiErrorKind } from '../../contract/api.ts';

export class LabError extends Error {
  readonly kind: ApiErrorKind;
  constructor(kind: ApiErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }

  get status(): number {
    return this.kind.status;
  }

  get code(): string {
    return this.kind.code;
  }
}
