// Binds the sender and subscribes it to the events the user asked for.
import { EventBus, HealthCheck, LifecycleContribution, type PluginContext } from '@trivy-mirror/plugin-api';
import { ContainerModule } from 'inversify';
import type { WebhookConfig } from './webhook-config.js';
import { WebhookSender } from './webhook-sender.js';

const Sender = Symbol('WebhookSender');

export function webhookModule(config: WebhookConfig, context: PluginContext): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(Sender).toConstantValue(new WebhookSender(config, context.logger));
    bind(LifecycleContribution).toResolvedValue(
      (sender: WebhookSender, events: EventBus): LifecycleContribution => {
        const off: (() => void)[] = [];
        return {
          id: context.id,
          async start() {
            if (config.events.includes('artifact.stored')) {
              off.push(
                events.on('artifact.stored', (e) => {
                  if (e.changed || !config.onlyChanges) return sender.send('artifact.stored', { ...e });
                }),
              );
            }
            if (config.events.includes('vex.stored')) {
              off.push(
                events.on('vex.stored', (e) => {
                  if (e.changed || !config.onlyChanges) return sender.send('vex.stored', { ...e });
                }),
              );
            }
          },
          async stop() {
            for (const f of off) f();
          },
        };
      },
      [Sender, EventBus],
    );
    bind(HealthCheck).toResolvedValue(
      (sender: WebhookSender): HealthCheck => ({
        id: context.id,
        check: () => ({
          ready: true,
          status: { url: new URL(config.url).origin, sent: sender.sent, failed: sender.failed },
        }),
      }),
      [Sender],
    );
  });
}
