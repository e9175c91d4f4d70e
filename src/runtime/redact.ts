// Configured secrets never reach an answer, a log line or a stored record: the values of
// environment variables whose names say they are secret (…KEY, …SECRET, …TOKEN, …PASSWORD), and
// the password of any URL among them, are replaced wherever the engine writes text it did not
// choose itself: error messages and stacks, its log lines.
const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|AUTH|DSN/i;
/** Shorter values would be found inside ordinary words ("true", "5432"). */
const MIN_SECRET_LENGTH = 8;

export type Redactor = (text: string) => string;

export function secretRedactor(env: NodeJS.ProcessEnv): Redactor {
  const secrets: { value: string; name: string }[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < MIN_SECRET_LENGTH) continue;
    if (SECRET_NAME.test(name)) secrets.push({ value, name });
    // Any URL's password (postgres://user:pw@host), whatever the variable's name.
    if (!value.includes('://')) continue;
    try {
      const password = decodeURIComponent(new URL(value).password);
      if (password.length >= MIN_SECRET_LENGTH / 2) secrets.push({ value: password, name: `${name} password` });
    } catch {
      // Not a URL.
    }
  }
  // Longest first, so a value containing another is replaced whole.
  secrets.sort((a, b) => b.value.length - a.value.length);
  if (secrets.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const { value, name } of secrets)
      if (result.includes(value)) result = result.replaceAll(value, `[${name} redacted]`);
    return result;
  };
}
