// Types for demo-args.js (a plain script, also imported by the tests).
export function demoPortOf(args: string[]): string;
