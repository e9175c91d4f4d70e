// Global setup of the postgres test project: one database for the run, dropped at the end.
import type { TestProject } from 'vitest/node';
import { createTestDatabase } from '../helpers/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const database = await createTestDatabase();
  project.provide('postgresUrl', database.url);
  return () => database.drop();
}
