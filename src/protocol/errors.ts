// The JSON error every Valet endpoint answers with: a stable code, a message, and for a
// ValetError thrown by a handler its data.
export interface ErrorBody {
  code: string;
  message: string;
  data?: unknown;
}
