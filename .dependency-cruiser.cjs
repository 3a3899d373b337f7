// dependency-cruiser: the import rules of the workspace, and the source of docs/dependencies.md
// (`npm run deps:graph` writes it, `npm run lint:deps` checks both). See docs/adr/0007.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'packages-never-import-apps',
      comment: 'Apps compose, packages implement: a package that imports an app turns the layering upside down.',
      severity: 'error',
      from: { path: '^packages/', pathNot: ['\\.test\\.ts$', '/test-helpers/'] },
      to: { path: '^apps/' },
    },
    {
      name: 'no-cycles',
      comment: 'An import cycle means two modules are one concept split in two, or a shared part wants its own module.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-deep-imports-between-packages',
      comment:
        'Another package is used through its package name and exports, never by a relative path into its folder.',
      severity: 'error',
      from: { path: '^(packages|apps)/([^/]+)/' },
      to: { path: '^(packages|apps)/([^/]+)/src/', pathNot: '^$1/$2/' },
    },
    {
      name: 'workspace-imports-resolve',
      comment:
        'An @skiff/* import that does not resolve would be missing from the picture: build first (npm run build).',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, path: '^@skiff/' },
    },
  ],
  options: {
    includeOnly: '^(packages|apps)/[^/]+/(src|dist)/',
    exclude: { path: '(\\.test\\.ts$|/test-helpers/)' },
    doNotFollow: { path: ['node_modules', '/dist/'] },
    tsPreCompilationDeps: true,
    combinedDependencies: false,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'],
      mainFields: ['module', 'main', 'types'],
    },
    reporterOptions: {
      mermaid: { minify: false },
    },
  },
};
