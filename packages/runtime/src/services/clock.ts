// Wall clock behind an interface so tests can pin time.
import type { Clock } from '@trivy-mirror/plugin-api';

export const systemClock: Clock = { now: () => new Date() };
