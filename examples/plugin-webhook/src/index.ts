// An external plugin, loaded by module name from `plugins.external`:
//   plugins: { external: [{ module: '@trivy-mirror/example-plugin-webhook', options: { url: https://hooks.example/x } }] }
import { definePlugin } from '@trivy-mirror/plugin-api';
import { webhookConfigSchema } from './webhook-config.js';
import { webhookModule } from './webhook-module.js';

export default definePlugin({
  id: 'example-webhook',
  description: 'POSTs a JSON webhook when a database or VEX repository changes',
  configSchema: webhookConfigSchema,
  module: webhookModule,
});
