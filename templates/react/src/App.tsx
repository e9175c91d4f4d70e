import { api } from '../valet/_generated/valet/api';

interface FunctionInfo {
  path: string;
  kind: string;
  access: string;
}

/** Walks the generated `api` object: every leaf is a function reference. */
function listFunctions(node: object): FunctionInfo[] {
  return Object.values(node).flatMap((value: FunctionInfo | object) =>
    'path' in value && 'kind' in value ? [value as FunctionInfo] : listFunctions(value),
  );
}

export function App() {
  const functions = listFunctions(api);
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '2rem auto' }}>
      <h1>Your Valet app</h1>
      <p>
        The backend lives in <code>valet/</code>. These are its functions, read from the generated{' '}
        <code>api</code> that this page imports.
      </p>
      <table>
        <thead>
          <tr>
            <th align="left">function</th>
            <th align="left">kind</th>
            <th align="left">access</th>
          </tr>
        </thead>
        <tbody>
          {functions.map((fn) => (
            <tr key={fn.path}>
              <td>
                <code>{fn.path}</code>
              </td>
              <td>{fn.kind}</td>
              <td>{fn.access}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  );
}
