// `node --import` this to run a process as on a machine where the app never installed `pg`
// (valet's optional PostgreSQL driver): every import of it fails as a missing package does.
import { register } from 'node:module';

register('./without-pg-resolve.mjs', import.meta.url);
