/** The command lines of a Markdown file's ```bash / ```sh blocks, `\` continuations joined. */
export function shellLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/^```(?:bash|sh|shell)\n([\s\S]*?)^```/gm)) {
    let pending = '';
    for (const raw of block[1]!.split('\n')) {
      const line = pending + raw.trim();
      if (line.endsWith('\\')) {
        pending = line.slice(0, -1) + ' ';
        continue;
      }
      pending = '';
      if (line && !line.startsWith('#')) lines.push(line);
    }
  }
  return lines;
}

/**
 * How the docs test treats a line: `npm` lines are the CI's own commands (`.ci/run` runs them on a
 * fresh clone), `skiff` lines and `curl` lines run against a demo's data and server; anything else
 * is a line the test does not know how to run, which fails it (so a new kind of line gets a runner).
 */
export function classify(line: string): 'npm' | 'skiff' | 'curl' | 'unknown' {
  if (/^npm (ci|test|run) /.test(line + ' ')) return 'npm';
  if (line.startsWith('npx skiff ') || line === 'npx skiff') return 'skiff';
  if (line.startsWith('curl ')) return 'curl';
  return 'unknown';
}
