// In the postgres project, VALET_DATABASE_URL points at the run's database, as a user would set
// it: valet/testing harnesses and CLI children started by tests use PostgreSQL too.
import { inject } from 'vitest';

process.env.VALET_DATABASE_URL = inject('postgresUrl');
