// Valet's documentation as MCP resources (`valet-docs://<page>`), read from the installed package,
// so an agent reads the docs of the Valet the app runs, without the network.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { PACKAGE_ROOT } from '../project/package-info.js';

export const DOCS_DIR = join(PACKAGE_ROOT, 'docs');

function titleOf(text: string, page: string): string {
  return /^# (.+)$/m.exec(text)?.[1] ?? page;
}

export function registerDocs(server: McpServer): number {
  let pages: string[];
  try {
    pages = readdirSync(DOCS_DIR).filter((name) => name.endsWith('.md'));
  } catch {
    return 0;
  }
  for (const page of pages.sort()) {
    const text = readFileSync(join(DOCS_DIR, page), 'utf8');
    const uri = `valet-docs://${page}`;
    server.registerResource(
      page,
      uri,
      {
        title: titleOf(text, page),
        description: `Valet documentation: ${titleOf(text, page)}`,
        mimeType: 'text/markdown',
      },
      async () => ({
        contents: [{ uri, mimeType: 'text/markdown', text: readFileSync(join(DOCS_DIR, page), 'utf8') }],
      }),
    );
  }
  return pages.length;
}
