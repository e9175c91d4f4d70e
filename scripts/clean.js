// Removes build output before a build, so files deleted from src/ do not linger in dist/.
import { rmSync } from 'node:fs';

for (const path of process.argv.slice(2)) rmSync(path, { recursive: true, force: true });
