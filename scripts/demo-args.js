// The port `valet dev` will use, from the arguments `npm run demo -- …` passes through, so the
// demo's hints name the right URL.
export function demoPortOf(args) {
  for (let i = 0; i < args.length; i++) {
    const match = /^(?:--port|-p)(?:=(.+))?$/.exec(args[i]);
    if (match) return match[1] ?? args[i + 1] ?? '3210';
  }
  return '3210';
}
