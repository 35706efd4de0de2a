// The single executable's entry (bundled by tools/package into one CommonJS file for node's SEA):
// the same start as bin/trivy-mirror.js, with external plugins sharing the bundled contract.
import { startCli } from '../cli-entry.js';
import { shareBundledModules } from './shared-modules.js';

shareBundledModules();
void startCli(process.argv, () => import('../main.js'));
