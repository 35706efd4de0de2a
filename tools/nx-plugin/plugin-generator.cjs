// `npx nx g @trivy-mirror/nx-plugin:plugin NAME`: a new plugin package wired into the workspace build.
const path = require('node:path');
const { generateFiles, names, updateJson, formatFiles } = require('@nx/devkit');

module.exports = async function pluginGenerator(tree, options) {
  const n = names(options.name);
  if (!/^[a-z][a-z0-9-]*$/.test(options.name)) {
    throw new Error(`plugin name "${options.name}" must be lowercase letters, digits and dashes`);
  }
  const dir = path.posix.join(options.directory || 'packages', options.name);
  if (tree.exists(path.posix.join(dir, 'package.json'))) throw new Error(`${dir} already exists`);
  const depth = dir.split('/').length;
  generateFiles(tree, path.join(__dirname, 'files'), dir, {
    ...n,
    id: options.name,
    scope: options.scope || '@trivy-mirror',
    root: '../'.repeat(depth),
    tmpl: '',
  });
  updateJson(tree, 'tsconfig.json', (json) => {
    json.references = json.references || [];
    if (!json.references.some((r) => r.path === `./${dir}`)) json.references.push({ path: `./${dir}` });
    return json;
  });
  const pkgJson = tree.read('package.json', 'utf8');
  const root = JSON.parse(pkgJson);
  const top = dir.split('/')[0];
  if (!root.workspaces.some((w) => w === `${top}/*` || w === dir)) {
    updateJson(tree, 'package.json', (json) => {
      json.workspaces.push(dir);
      return json;
    });
  }
  await formatFiles(tree);
  return () => {
    console.log(
      `\nCreated ${dir}. Next:\n  npm install\n  npm run build\n  add to your config:\n    plugins:\n      external:\n        - { module: "${options.scope || '@trivy-mirror'}/${options.name}", options: {} }\n`,
    );
  };
};
