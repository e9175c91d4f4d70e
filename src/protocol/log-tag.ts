// How a log line names the call it came from: `[todos:add k3x9q2f1]`. Ids of one process share a
// prefix and end in a counter (actions' are random throughout), so the tag is the id's end: two
// calls never show the same tag, where its start was the same for every call of a process.
export function shortInvocationId(id: string): string {
  return id.slice(-8);
}
